//! Delivering notifications: a webhook's JSON body, an e-mail, an Alertmanager alert.
//!
//! Each delivery runs as its own task, in order per channel (a dead channel delays only its
//! own notifications), tried three times (at once, after 1 s, after 5 s) with a timeout on
//! each attempt. The outcome goes back to the engine (which clears the alert's outbox) and
//! into the channel's health, kept in the `netpulse_alert_channel_health` bucket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use netpulse_shared::alert::{
    Alert, Channel, ChannelHealth, ChannelTarget, Notification, NotifiedDevice, Undelivered,
};
use netpulse_shared::messages::SCHEMA_VERSION;
use netpulse_shared::time;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex, RwLock};

use crate::engine::Input;

/// How the alerter sends e-mail (`[alerter]` keys `smtp_*`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// STARTTLS on the submission port (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text: only for a relay on a trusted network.
    None,
}

/// Where e-mail goes.
#[derive(Debug, Clone)]
pub struct Smtp {
    /// The server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How to secure the connection.
    pub security: SmtpSecurity,
    /// User and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// The sender address.
    pub from: String,
}

/// Why an e-mail channel fails on an alerter without an SMTP server.
const NO_SMTP: &str = "no SMTP server set (alerter.smtp_host)";

/// What deliveries need: the channels, HTTP and SMTP clients, and where to report.
#[derive(Clone)]
pub struct Notifier {
    channels: Arc<RwLock<HashMap<String, Channel>>>,
    /// One lock per channel, taken in order (tokio's mutex is fair): deliveries to one
    /// channel go one at a time, in the order they were asked for.
    order: Arc<Mutex<HashMap<String, Arc<Mutex<()>>>>>,
    http: reqwest::Client,
    smtp: Option<Smtp>,
    dashboard_url: String,
    health: kv::Store,
    timeout: Duration,
    /// Waits between attempts (3 attempts: at once, then after each wait).
    backoff: [Duration; 2],
    done: mpsc::Sender<Input>,
}

impl Notifier {
    /// A notifier reporting outcomes on `done`.
    pub fn new(
        smtp: Option<Smtp>,
        dashboard_url: String,
        health: kv::Store,
        timeout: Duration,
        done: mpsc::Sender<Input>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            channels: Arc::default(),
            order: Arc::default(),
            http: reqwest::Client::builder().timeout(timeout).build()?,
            smtp,
            dashboard_url: dashboard_url.trim_end_matches('/').to_owned(),
            health,
            timeout,
            backoff: [Duration::from_secs(1), Duration::from_secs(5)],
            done,
        })
    }

    /// A channel was added or changed.
    pub async fn channel_changed(&self, channel: Channel) {
        self.channels
            .write()
            .await
            .insert(channel.id.clone(), channel);
    }

    /// A channel was deleted.
    pub async fn channel_removed(&self, id: &str) {
        self.channels.write().await.remove(id);
    }

    /// Delivers a notification of `alert` in the background.
    pub fn deliver(&self, alert: Alert, delivery: Undelivered) {
        let notifier = self.clone();
        tokio::spawn(async move {
            let lock = {
                let mut order = notifier.order.lock().await;
                order.entry(delivery.channel.clone()).or_default().clone()
            };
            let _turn = lock.lock().await;
            let error = notifier.attempts(&alert, &delivery).await.err();
            match &error {
                None => {
                    tracing::info!(alert = %alert.id, channel = %delivery.channel, status = %delivery.status, "notified")
                }
                Some(error) => {
                    tracing::warn!(alert = %alert.id, channel = %delivery.channel, %error, "notification failed")
                }
            }
            notifier.record(&delivery.channel, error.as_deref()).await;
            let _ = notifier
                .done
                .send(Input::Delivered {
                    delivery,
                    alert: alert.id,
                    error,
                })
                .await;
        });
    }

    /// Posts a firing alert to an Alertmanager channel again (Alertmanager forgets an alert
    /// whose end has passed); nothing is recorded.
    pub async fn refresh(&self, alert: &Alert, channel: &str) {
        let target = self.channels.read().await.get(channel).cloned();
        if let Some(Channel {
            target: ChannelTarget::Alertmanager { url },
            ..
        }) = target
        {
            if let Err(error) = self.alertmanager(&url, alert, "firing").await {
                tracing::debug!(%error, channel, "Alertmanager refresh failed");
            }
        }
    }

    async fn attempts(&self, alert: &Alert, delivery: &Undelivered) -> Result<(), String> {
        let channel = self
            .channels
            .read()
            .await
            .get(&delivery.channel)
            .cloned()
            .ok_or_else(|| format!("no channel {}", delivery.channel))?;
        if matches!(channel.target, ChannelTarget::Email { .. }) && self.smtp.is_none() {
            // Trying again cannot help until the alerter is configured.
            return Err(NO_SMTP.into());
        }
        let mut waits = self.backoff.iter();
        loop {
            let sent = tokio::time::timeout(self.timeout, self.send(&channel, alert, delivery))
                .await
                .unwrap_or_else(|_| Err("timed out".into()));
            match (sent, waits.next()) {
                (Ok(()), _) => return Ok(()),
                (Err(error), None) => return Err(error),
                (Err(error), Some(wait)) => {
                    tracing::debug!(%error, channel = %channel.id, "delivery failed, retrying");
                    tokio::time::sleep(*wait).await;
                }
            }
        }
    }

    async fn send(
        &self,
        channel: &Channel,
        alert: &Alert,
        delivery: &Undelivered,
    ) -> Result<(), String> {
        match &channel.target {
            ChannelTarget::Webhook { url } => {
                let body = self.notification(alert, delivery);
                let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
                self.post(url, body).await
            }
            ChannelTarget::Alertmanager { url } => {
                self.alertmanager(url, alert, &delivery.status).await
            }
            ChannelTarget::Email { to } => self.email(to, alert, delivery).await,
        }
    }

    async fn post(&self, url: &str, body: Vec<u8>) -> Result<(), String> {
        let answer = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            // The URL may hold a token: say what failed without it.
            .map_err(without_url)?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", answer.status().as_u16()))
        }
    }

    /// The webhook body.
    pub fn notification(&self, alert: &Alert, delivery: &Undelivered) -> Notification {
        Notification {
            schema: SCHEMA_VERSION,
            status: delivery.status.clone(),
            repeat: delivery.repeat,
            alert: Alert {
                outbox: Vec::new(),
                ..alert.clone()
            },
            device: NotifiedDevice {
                id: alert.device.clone(),
                name: alert.device_name.clone(),
                address: alert.device_address.clone(),
            },
            interfaces: alert.interfaces.clone(),
            value: alert.value,
            link: self.link(alert),
            text: text(alert, &delivery.status, delivery.repeat),
        }
    }

    fn link(&self, alert: &Alert) -> String {
        format!("{}/#/device/{}", self.dashboard_url, alert.device)
    }

    async fn alertmanager(&self, base: &str, alert: &Alert, status: &str) -> Result<(), String> {
        let now = time::now_ms();
        let at = |ms: u64| {
            jiff::Timestamp::from_millisecond(ms as i64)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let mut labels = serde_json::Map::new();
        labels.insert("alertname".into(), alert.rule_name.clone().into());
        labels.insert("device".into(), alert.device.to_string().into());
        labels.insert("device_name".into(), alert.device_name.clone().into());
        labels.insert("severity".into(), alert.severity.as_str().into());
        labels.insert("rule".into(), alert.rule.clone().into());
        if !alert.interfaces.is_empty() {
            labels.insert("interface".into(), alert.interfaces.join(",").into());
        }
        let ends = if status == "resolved" {
            alert.resolved_ms.unwrap_or(now)
        } else {
            now + 3_600_000
        };
        let body = serde_json::json!([{
            "labels": labels,
            "annotations": {"summary": alert.summary, "link": self.link(alert)},
            "startsAt": at(alert.fired_ms.unwrap_or(alert.started_ms)),
            "endsAt": at(ends),
            "generatorURL": self.link(alert),
        }]);
        let url = format!("{}/api/v2/alerts", base.trim_end_matches('/'));
        self.post(&url, serde_json::to_vec(&body).map_err(|e| e.to_string())?)
            .await
    }

    async fn email(
        &self,
        to: &[String],
        alert: &Alert,
        delivery: &Undelivered,
    ) -> Result<(), String> {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
        let smtp = self
            .smtp
            .as_ref()
            .ok_or("no SMTP server set (alerter.smtp_host)")?;
        let subject = text(alert, &delivery.status, delivery.repeat);
        let body = format!(
            "{subject}\n\nDevice: {} ({}, {})\nRule: {} ({})\nSeverity: {}\nInterfaces: {}\nValue: {}\nSince: {}\n\n{}\n",
            alert.device_name,
            alert.device,
            alert.device_address,
            alert.rule_name,
            alert.kind,
            alert.severity.as_str(),
            if alert.interfaces.is_empty() { "-".into() } else { alert.interfaces.join(", ") },
            alert.value.map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            jiff::Timestamp::from_millisecond(alert.since_ms as i64).map(|t| t.to_string()).unwrap_or_default(),
            self.link(alert),
        );
        let from = smtp
            .from
            .parse()
            .map_err(|e| format!("alerter.smtp_from: {e}"))?;
        let mut message = Message::builder().from(from).subject(one_line(&subject));
        for address in to {
            message = message.to(address.parse().map_err(|e| format!("{address}: {e}"))?);
        }
        let message = message.body(body).map_err(|e| e.to_string())?;
        let builder = match smtp.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .map_err(|e| e.to_string())?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| e.to_string())?,
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
        };
        let mut builder = builder.port(smtp.port).timeout(Some(self.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        builder
            .build()
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn record(&self, channel: &str, error: Option<&str>) {
        let mut health = match self.health.get(channel).await {
            Ok(Some(bytes)) => serde_json::from_slice::<ChannelHealth>(&bytes).unwrap_or_default(),
            _ => ChannelHealth::default(),
        };
        health.schema = SCHEMA_VERSION;
        health.last_attempt_ms = time::now_ms();
        health.failing = error.is_some();
        health.last_error = error.map(str::to_owned);
        match error {
            None => health.sent += 1,
            Some(_) => health.failed += 1,
        }
        if let Ok(bytes) = serde_json::to_vec(&health) {
            if let Err(error) = self.health.put(channel, bytes.into()).await {
                tracing::warn!(%error, channel, "cannot record the channel's health");
            }
        }
    }
}

/// A delivery error with its causes, without the URL it went to (it may hold a token).
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The notification as one line: "[FIRING] critical · down: core-1 is down".
pub fn text(alert: &Alert, status: &str, repeat: bool) -> String {
    let mark = match (status, alert.flapping, repeat) {
        ("resolved", _, _) => "RESOLVED",
        (_, true, _) => "FLAPPING",
        (_, _, true) => "STILL FIRING",
        _ => "FIRING",
    };
    one_line(&format!(
        "[{mark}] {} · {}: {}",
        alert.severity.as_str(),
        alert.rule_name,
        alert.summary
    ))
}

/// Control characters (a device's or user's) out of a header or a one-line message.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
