//! The narrow interface between polling logic and the SNMP library.
//!
//! [`Agent`] is what polling needs from an SNMP agent: GET a list of OIDs. [`Snmp2Agent`]
//! implements it with snmp2's async session, with a timeout on every request, a fresh
//! session after a timeout (so a late reply cannot be taken for the next request's), and a
//! check that the reply names exactly the OIDs asked for. [`convert`] turns snmp2's borrowed
//! values into owned [`SnmpValue`]s.
//!
//! [`SnmpValue::OctetString`] carries text (invalid UTF-8 replaced), which is what every
//! reader wants except one: LLDP chassis and port IDs are often binary (a MAC address), and a
//! lossy decoding would spoil them. [`Agent::set_octet_decoding`] lets discovery ask for
//! [`OctetDecoding::Latin1`] for a while: one character per byte, so the bytes can be had
//! back exactly.
//!
//! [`SnmpValue::OctetString`]: netpulse_shared::messages::SnmpValue::OctetString

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use netpulse_shared::messages::{AgentTarget, PollJob, PollStats, SnmpValue, VarBind};
use netpulse_shared::snmp::{Address, Community, Oid, SnmpVersion};
use netpulse_shared::usm::{AuthProtocol, PrivProtocol, UsmUser};
use netpulse_shared::wire::{convert, from_library_oid};

/// Why a GET failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    /// No reply within the timeout, after every retry.
    #[error("timeout")]
    Timeout,
    /// The host name did not resolve, or the socket could not be opened.
    #[error("cannot reach agent: {0}")]
    Unreachable(String),
    /// The agent answered with an SNMP error status.
    #[error("agent returned error {name} (varbind {index})")]
    Status {
        /// The error-status name (`tooBig`, `noSuchName`, `genErr`, ...).
        name: &'static str,
        /// The raw error-status.
        status: u32,
        /// The 1-based varbind index the agent blamed (0 when none).
        index: u32,
    },
    /// A reply that could not be decoded, or that did not answer the request.
    #[error("bad reply: {0}")]
    BadReply(String),
    /// SNMPv3: the agent does not know the user.
    #[error("unknown user")]
    UnknownUser,
    /// SNMPv3: wrong authentication or privacy password, or protocol.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// SNMPv3: another USM failure (engine discovery, time window, unsupported level).
    #[error("SNMPv3 security error: {0}")]
    Security(String),
}

/// How OCTET STRING values of replies become [`SnmpValue::OctetString`] text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OctetDecoding {
    /// UTF-8, invalid sequences replaced: what every message carries.
    #[default]
    Utf8Lossy,
    /// One character per byte (U+0000 to U+00FF), so that [`latin1_bytes`] gives the bytes
    /// back exactly: for binary values such as MAC addresses. Never published as is.
    Latin1,
}

/// The bytes of a string decoded as [`OctetDecoding::Latin1`]; `None` when a character is
/// past U+00FF (the string was not decoded so).
pub fn latin1_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// What polling needs from an SNMP agent.
pub trait Agent {
    /// GETs `oids` in one request; the answer has one varbind per OID, in the same order.
    fn get(
        &mut self,
        oids: &[Oid],
    ) -> impl std::future::Future<Output = Result<Vec<VarBind>, SnmpError>> + Send;

    /// GETNEXT of one OID: the next object in the agent's MIB view.
    fn get_next(
        &mut self,
        oid: &Oid,
    ) -> impl std::future::Future<Output = Result<Vec<VarBind>, SnmpError>> + Send;

    /// GETBULK of one OID (no non-repeaters): up to `max_repetitions` next objects.
    fn get_bulk(
        &mut self,
        oid: &Oid,
        max_repetitions: u32,
    ) -> impl std::future::Future<Output = Result<Vec<VarBind>, SnmpError>> + Send;

    /// How OCTET STRINGs of later replies are decoded ([`OctetDecoding::Utf8Lossy`] until
    /// told otherwise).
    fn set_octet_decoding(&mut self, decoding: OctetDecoding);
}

/// Which request to send.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Get,
    GetNext,
    GetBulk(u32),
}

/// The RFC 3416 name of an SNMP error-status.
pub fn error_status_name(status: u32) -> &'static str {
    const NAMES: [&str; 19] = [
        "noError",
        "tooBig",
        "noSuchName",
        "badValue",
        "readOnly",
        "genErr",
        "noAccess",
        "wrongType",
        "wrongLength",
        "wrongEncoding",
        "wrongValue",
        "noCreation",
        "inconsistentValue",
        "resourceUnavailable",
        "commitFailed",
        "undoFailed",
        "authorizationError",
        "notWritable",
        "inconsistentName",
    ];
    usize::try_from(status)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("unknown")
}

fn to_library_oid(oid: &Oid) -> Result<snmp2::Oid<'static>, SnmpError> {
    let arcs: Vec<u64> = oid.arcs().iter().map(|a| u64::from(*a)).collect();
    snmp2::Oid::from(&arcs).map_err(|_| SnmpError::BadReply(format!("cannot encode OID {oid}")))
}

/// How to talk to an agent: a community (v1/v2c) or a USM user (v3).
#[derive(Debug, Clone)]
pub enum Credentials {
    /// SNMPv1 with a community.
    V1(Community),
    /// SNMPv2c with a community.
    V2c(Community),
    /// SNMPv3 with a user.
    V3(UsmUser),
}

impl Credentials {
    /// The credentials an agent target carries for its version.
    pub fn of_target(target: &AgentTarget) -> Result<Self, SnmpError> {
        Self::new(target.version, &target.community, target.v3.as_ref())
    }

    /// The credentials for `version`.
    pub fn new(
        version: SnmpVersion,
        community: &Community,
        v3: Option<&UsmUser>,
    ) -> Result<Self, SnmpError> {
        Ok(match (version, v3) {
            (SnmpVersion::V1, _) => Self::V1(community.clone()),
            (SnmpVersion::V2c, _) => Self::V2c(community.clone()),
            (SnmpVersion::V3, Some(user)) => Self::V3(user.clone()),
            (SnmpVersion::V3, None) => {
                return Err(SnmpError::Security("no v3 user configured".into()))
            }
        })
    }
}

/// The values of a reply PDU as the poller takes them: its error status as an error, each
/// OID and value converted (OCTET STRINGs as `octets` says), anything else refused as a bad
/// reply.
fn varbinds_of(pdu: snmp2::Pdu<'_>, octets: OctetDecoding) -> Result<Vec<VarBind>, SnmpError> {
    if pdu.error_status != 0 {
        return Err(SnmpError::Status {
            name: error_status_name(pdu.error_status),
            status: pdu.error_status,
            index: pdu.error_index,
        });
    }
    let mut out = Vec::new();
    for (oid, value) in pdu.varbinds {
        let oid = from_library_oid(&oid)
            .ok_or_else(|| SnmpError::BadReply("reply has an invalid OID".into()))?;
        let value = match (&value, octets) {
            (snmp2::Value::OctetString(bytes), OctetDecoding::Latin1) => {
                SnmpValue::OctetString(bytes.iter().copied().map(char::from).collect())
            }
            _ => convert(&value)
                .ok_or_else(|| SnmpError::BadReply(format!("unexpected value type for {oid}")))?,
        };
        out.push(VarBind { oid, value });
    }
    Ok(out)
}

/// Decodes a datagram from an agent the way a poll does (the PDU through snmp2, then
/// [`varbinds_of`]); with `user`, as an SNMPv3 message for that user. Bytes from the network
/// are untrusted: this is what the fuzz targets drive.
pub fn decode_reply(bytes: &[u8], user: Option<&UsmUser>) -> Result<Vec<VarBind>, SnmpError> {
    let mut secured = user.map(security);
    let pdu = match secured.as_mut() {
        Some(security) => snmp2::Pdu::from_bytes_with_security(bytes, Some(security)),
        None => snmp2::Pdu::from_bytes(bytes),
    }
    .map_err(|e| describe(&e))?;
    varbinds_of(pdu, OctetDecoding::Utf8Lossy)
}

/// snmp2's security settings for a USM user.
fn security(user: &UsmUser) -> snmp2::v3::Security {
    use snmp2::v3::{Auth, AuthProtocol as A, Cipher, KeyExtension, Security};
    let Some(auth) = &user.auth else {
        return Security::new(user.user.as_bytes(), b"").with_auth(Auth::NoAuthNoPriv);
    };
    let protocol = match auth.protocol {
        AuthProtocol::Md5 => A::Md5,
        AuthProtocol::Sha => A::Sha1,
        AuthProtocol::Sha224 => A::Sha224,
        AuthProtocol::Sha256 => A::Sha256,
        AuthProtocol::Sha384 => A::Sha384,
        AuthProtocol::Sha512 => A::Sha512,
    };
    let base = Security::new(user.user.as_bytes(), auth.password.expose().as_bytes())
        .with_auth_protocol(protocol);
    let Some(privacy) = &user.privacy else {
        return base.with_auth(Auth::AuthNoPriv);
    };
    let (cipher, extension) = match privacy.protocol {
        PrivProtocol::Des => (Cipher::Des, None),
        PrivProtocol::Aes => (Cipher::Aes128, None),
        PrivProtocol::Aes192 => (Cipher::Aes192, Some(KeyExtension::Blumenthal)),
        PrivProtocol::Aes256 => (Cipher::Aes256, Some(KeyExtension::Blumenthal)),
        PrivProtocol::Aes192c => (Cipher::Aes192, Some(KeyExtension::Reeder)),
        PrivProtocol::Aes256c => (Cipher::Aes256, Some(KeyExtension::Reeder)),
    };
    let secured = base.with_auth(Auth::AuthPriv {
        cipher,
        privacy_password: privacy.password.expose().as_bytes().to_vec(),
    });
    match extension {
        Some(method) if cipher.priv_key_needs_extension(&protocol) => {
            secured.with_key_extension_method(method)
        }
        _ => secured,
    }
}

/// Which kind of bad reply an snmp2 error means, if it means one: a datagram came, and it was
/// not a usable answer to the request.
fn bad_reply_kind(error: &snmp2::Error) -> Option<&'static str> {
    use snmp2::Error as E;
    Some(match error {
        E::AsnParse
        | E::AsnInvalidLen
        | E::AsnWrongType
        | E::AsnUnsupportedType
        | E::AsnEof
        | E::AsnIntOverflow
        | E::UnsupportedVersion
        | E::ValueOutOfRange
        | E::BufferOverflow => "malformed",
        E::RequestIdMismatch => "wrong_request_id",
        E::CommunityMismatch => "community_mismatch",
        _ => return None,
    })
}

/// Translates snmp2's errors into what an operator should read.
fn describe(error: &snmp2::Error) -> SnmpError {
    use snmp2::v3::AuthErrorKind as K;
    match error {
        snmp2::Error::AuthFailure(K::UsernameMismatch) => SnmpError::UnknownUser,
        snmp2::Error::AuthFailure(
            K::SignatureMismatch
            | K::NotAuthenticated
            | K::KeyLengthMismatch
            | K::PrivLengthMismatch,
        ) => SnmpError::AuthenticationFailed,
        snmp2::Error::AuthFailure(kind) => SnmpError::Security(kind.to_string()),
        snmp2::Error::AuthUpdated => {
            SnmpError::Security("the agent's engine boots or time changed".into())
        }
        snmp2::Error::Crypto(_) => SnmpError::AuthenticationFailed,
        // ICMP port unreachable surfaces as a failed receive on the connected socket.
        snmp2::Error::Receive => {
            SnmpError::Unreachable("port unreachable: no SNMP agent is listening".into())
        }
        snmp2::Error::Send => SnmpError::Unreachable("cannot send: no route to the agent".into()),
        other => SnmpError::BadReply(format!("{other:?}")),
    }
}

/// An SNMPv3 engine as discovered, with the user's keys localised to it.
#[derive(Clone)]
struct KnownEngine {
    user: UsmUser,
    security: snmp2::v3::Security,
    engine: crate::usm_probe::Engine,
    /// When its boots and time were read.
    at: std::time::Instant,
}

/// Most engines kept; past that, the cache starts again (a poller does not poll that many
/// SNMPv3 agents).
const MAX_ENGINES: usize = 100_000;

/// The SNMPv3 engines this process has discovered, by agent address and user: a poll of a
/// known engine skips discovery (one round trip less) and key localisation, and counts the
/// engine's time on from when it was read. When the agent's boots or time no longer match
/// (it rebooted, or its clock moved: a usmStatsNotInTimeWindows Report), or its engine ID
/// changed, the request fails, the entry is dropped, and the request is sent once more after
/// a fresh discovery. Keyed by address, not engine ID: agents cloned with the same engine ID
/// stay apart.
fn engines() -> std::sync::MutexGuard<'static, HashMap<(String, String), KnownEngine>> {
    static ENGINES: OnceLock<Mutex<HashMap<(String, String), KnownEngine>>> = OnceLock::new();
    ENGINES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An [`Agent`] over snmp2's async session (SNMP v1, v2c and v3).
pub struct Snmp2Agent {
    address: Address,
    credentials: Credentials,
    timeout: Duration,
    retries: u32,
    session: Option<snmp2::AsyncSession>,
    next_request_id: i32,
    /// SNMPv3: whether the session was opened from a known engine (not discovered for it).
    known_engine: bool,
    /// SNMPv3: the agent's engine ID, once known.
    engine_id: Option<Vec<u8>>,
    /// How OCTET STRINGs of replies are decoded.
    octets: OctetDecoding,
    /// Retries, timeouts and bad replies met so far by this agent's requests.
    pub stats: PollStats,
}

impl Snmp2Agent {
    /// An agent handle; the session opens on first use.
    pub fn new(
        address: Address,
        credentials: Credentials,
        timeout: Duration,
        retries: u32,
    ) -> Self {
        // Start request ids somewhere unpredictable so two sessions rarely share them.
        let seed = netpulse_shared::time::now_ms() as u32 ^ std::process::id().rotate_left(16);
        Self {
            address,
            credentials,
            timeout,
            retries,
            session: None,
            next_request_id: i32::try_from(seed & 0x3fff_ffff).unwrap_or(1),
            known_engine: false,
            engine_id: None,
            octets: OctetDecoding::Utf8Lossy,
            stats: PollStats::default(),
        }
    }

    /// The agent a poll job names, with its timeout and retries.
    pub fn for_job(job: &PollJob) -> Result<Self, SnmpError> {
        Self::for_target(&job.target)
    }

    /// The agent of a target, with its timeout and retries.
    pub fn for_target(target: &AgentTarget) -> Result<Self, SnmpError> {
        Ok(Self::new(
            target.address.clone(),
            Credentials::of_target(target)?,
            Duration::from_millis(u64::from(target.timeout_ms)),
            target.retries,
        ))
    }

    async fn open(&mut self) -> Result<&mut snmp2::AsyncSession, SnmpError> {
        if self.session.is_none() {
            if let Credentials::V3(user) = &self.credentials {
                self.session = self.open_known_engine(&user.clone()).await?;
            }
        }
        if self.session.is_none() {
            let target = self.address.to_socket_string();
            let req_id = self.next_request_id;
            let timeout = self.timeout;
            let opening = async {
                let io = |e: std::io::Error| SnmpError::Unreachable(e.to_string());
                match &self.credentials {
                    Credentials::V1(c) => {
                        snmp2::AsyncSession::new_v1(target.as_str(), c.expose().as_bytes(), req_id)
                            .await
                            .map_err(io)
                    }
                    Credentials::V2c(c) => {
                        snmp2::AsyncSession::new_v2c(target.as_str(), c.expose().as_bytes(), req_id)
                            .await
                            .map_err(io)
                    }
                    Credentials::V3(user) => {
                        let mut session =
                            snmp2::AsyncSession::new_v3(target.as_str(), req_id, security(user))
                                .await
                                .map_err(io)?;
                        // Engine-ID discovery and time synchronisation.
                        match tokio::time::timeout(timeout, session.init()).await {
                            Err(_) => Err(SnmpError::Timeout),
                            Ok(Err(e)) => Err(describe(&e)),
                            Ok(Ok(())) => Ok(session),
                        }
                    }
                }
            };
            let session = tokio::time::timeout(self.timeout * 2, opening)
                .await
                .map_err(|_| SnmpError::Timeout)??;
            self.session = Some(session);
        }
        self.session
            .as_mut()
            .ok_or_else(|| SnmpError::Unreachable("no session".into()))
    }

    fn engine_key(&self, user: &UsmUser) -> (String, String) {
        (self.address.to_socket_string(), user.user.clone())
    }

    /// An SNMPv3 session on the agent's engine as this process knows it, discovering it
    /// first if need be. `None` when the agent's discovery Report gives no boots and time
    /// (the session must synchronise them itself).
    async fn open_known_engine(
        &mut self,
        user: &UsmUser,
    ) -> Result<Option<snmp2::AsyncSession>, SnmpError> {
        let key = self.engine_key(user);
        let cached = engines()
            .get(&key)
            .filter(|known| known.user == *user)
            .cloned();
        self.known_engine = cached.is_some();
        let known = match cached {
            Some(known) => known,
            None => {
                let target = self.address.to_socket_string();
                let address = tokio::net::lookup_host(target.as_str())
                    .await
                    .map_err(|e| SnmpError::Unreachable(e.to_string()))?
                    .next()
                    .ok_or_else(|| SnmpError::Unreachable(format!("{target} does not resolve")))?;
                let mut malformed = 0;
                self.next_request_id = self.next_request_id.wrapping_add(1);
                let found = crate::usm_probe::discover(
                    address,
                    self.timeout,
                    self.next_request_id & 0x7fff_ffff,
                    &mut malformed,
                )
                .await;
                for _ in 0..malformed {
                    self.stats.bad_reply("malformed");
                }
                let Some(engine) = found else {
                    self.stats.timeouts += 1;
                    return Err(SnmpError::Timeout);
                };
                if engine.boots == 0 && user.auth.is_some() {
                    return Ok(None);
                }
                // Localising the user's keys hashes a megabyte per key: off the poller's
                // one thread, so the other polls go on meanwhile.
                let (owner, engine_id) = (user.clone(), engine.id.clone());
                let security = tokio::task::spawn_blocking(move || {
                    security(&owner).with_engine_id(&engine_id)
                })
                .await
                .map_err(|e| SnmpError::Security(format!("key localisation failed: {e}")))?
                .map_err(|e| describe(&e))?;
                let known = KnownEngine {
                    user: user.clone(),
                    security,
                    engine,
                    at: std::time::Instant::now(),
                };
                let mut all = engines();
                if all.len() >= MAX_ENGINES {
                    all.clear();
                }
                all.insert(key, known.clone());
                known
            }
        };
        self.engine_id = Some(known.engine.id.clone());
        // The engine's time now, counted on from when it was read.
        let elapsed = i64::try_from(known.at.elapsed().as_secs()).unwrap_or(0);
        let security = known
            .security
            .with_engine_boots_and_time(known.engine.boots, known.engine.time + elapsed);
        let target = self.address.to_socket_string();
        snmp2::AsyncSession::new_v3(target.as_str(), self.next_request_id, security)
            .await
            .map(Some)
            .map_err(|e| SnmpError::Unreachable(e.to_string()))
    }

    /// SNMPv3: the agent's engine ID, once a session has been opened.
    pub fn engine_id(&self) -> Option<&[u8]> {
        self.engine_id.as_deref()
    }

    /// An authentication failure may really be an unknown user: ask the agent.
    async fn explain_auth_failure(&self, error: SnmpError) -> SnmpError {
        let Credentials::V3(user) = &self.credentials else {
            return error;
        };
        if error != SnmpError::AuthenticationFailed {
            return error;
        }
        let target = self.address.to_socket_string();
        let Ok(Some(address)) = tokio::net::lookup_host(target.as_str())
            .await
            .map(|mut a| a.next())
        else {
            return error;
        };
        match crate::usm_probe::probe(address, &user.user, self.timeout).await {
            crate::usm_probe::ReportKind::UnknownUser => SnmpError::UnknownUser,
            _ => error,
        }
    }

    /// Whether this agent speaks SNMPv1 (no GETBULK, no Counter64).
    pub fn is_v1(&self) -> bool {
        matches!(self.credentials, Credentials::V1(_))
    }

    async fn request_once(
        &mut self,
        operation: Operation,
        oids: &[Oid],
    ) -> Result<Vec<VarBind>, SnmpError> {
        let wanted: Vec<snmp2::Oid<'static>> =
            oids.iter().map(to_library_oid).collect::<Result<_, _>>()?;
        let refs: Vec<&snmp2::Oid<'_>> = wanted.iter().collect();
        let timeout = self.timeout;
        let octets = self.octets;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let session = self.open().await?;
        let reply = match operation {
            Operation::Get => tokio::time::timeout(timeout, session.get_many(&refs)).await,
            Operation::GetNext => {
                let first = refs
                    .first()
                    .ok_or_else(|| SnmpError::BadReply("nothing to ask".into()))?;
                tokio::time::timeout(timeout, session.getnext(first)).await
            }
            Operation::GetBulk(max) => {
                tokio::time::timeout(timeout, session.getbulk(&refs, 0, max)).await
            }
        };
        let pdu = match reply {
            Err(_) => {
                self.stats.timeouts += 1;
                return Err(SnmpError::Timeout);
            }
            Ok(Err(e)) => {
                if let Some(kind) = bad_reply_kind(&e) {
                    self.stats.bad_reply(kind);
                }
                return Err(describe(&e));
            }
            Ok(Ok(pdu)) => pdu,
        };
        // Copy everything out of the borrowed PDU before anything else touches the session.
        let out = varbinds_of(pdu, octets).inspect_err(|e| {
            if matches!(e, SnmpError::BadReply(_)) {
                self.stats.bad_reply("malformed");
            }
        })?;
        let matches = match operation {
            Operation::Get => {
                out.len() == oids.len() && out.iter().zip(oids).all(|(vb, asked)| &vb.oid == asked)
            }
            // A GETNEXT answers with one object after the one asked for.
            Operation::GetNext => {
                out.len() == 1 && oids.first().is_some_and(|asked| out[0].oid > *asked)
            }
            Operation::GetBulk(max) => out.len() <= max as usize,
        };
        if !matches {
            self.stats.bad_reply("unexpected_oids");
            return Err(SnmpError::BadReply(
                "reply does not match the OIDs requested".into(),
            ));
        }
        Ok(out)
    }

    /// One request with retries: a fresh session after a timeout or a garbled reply (a late
    /// reply may still arrive on the old socket).
    async fn request(
        &mut self,
        operation: Operation,
        oids: &[Oid],
    ) -> Result<Vec<VarBind>, SnmpError> {
        let mut attempt = 0;
        let mut resynced = false;
        loop {
            // Boxed: SNMPv3 futures are large, and a poller runs thousands at once.
            match Box::pin(self.request_once(operation, oids)).await {
                // The engine this process knew no longer answers as it did: the agent
                // rebooted, its clock moved (not in time window), or it is another engine.
                // Discover it again and send the request once more.
                Err(
                    SnmpError::Security(_)
                    | SnmpError::AuthenticationFailed
                    | SnmpError::UnknownUser,
                ) if self.known_engine && !resynced => {
                    if let Credentials::V3(user) = &self.credentials {
                        engines().remove(&self.engine_key(user));
                    }
                    self.session = None;
                    self.known_engine = false;
                    resynced = true;
                    self.stats.resyncs += 1;
                }
                Err(SnmpError::Timeout | SnmpError::BadReply(_) | SnmpError::Security(_))
                    if attempt < self.retries =>
                {
                    self.session = None;
                    attempt += 1;
                    self.stats.retries += 1;
                }
                Err(e @ (SnmpError::Timeout | SnmpError::BadReply(_) | SnmpError::Security(_))) => {
                    self.session = None;
                    return Err(e);
                }
                Err(e) => return Err(self.explain_auth_failure(e).await),
                ok => return ok,
            }
        }
    }
}

impl Agent for Snmp2Agent {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
        self.request(Operation::Get, oids).await
    }

    async fn get_next(&mut self, oid: &Oid) -> Result<Vec<VarBind>, SnmpError> {
        self.request(Operation::GetNext, std::slice::from_ref(oid))
            .await
    }

    async fn get_bulk(
        &mut self,
        oid: &Oid,
        max_repetitions: u32,
    ) -> Result<Vec<VarBind>, SnmpError> {
        self.request(
            Operation::GetBulk(max_repetitions.max(1)),
            std::slice::from_ref(oid),
        )
        .await
    }

    fn set_octet_decoding(&mut self, decoding: OctetDecoding) {
        self.octets = decoding;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_shared::messages::SnmpValue;

    #[test]
    fn values_convert_with_their_types() {
        let oid = snmp2::Oid::from(&[1, 3, 6, 1]).expect("oid");
        let cases: Vec<(snmp2::Value<'_>, Option<SnmpValue>)> = vec![
            (snmp2::Value::Integer(-5), Some(SnmpValue::Integer(-5))),
            (
                snmp2::Value::OctetString(b"eth0"),
                Some(SnmpValue::OctetString("eth0".into())),
            ),
            (
                snmp2::Value::OctetString(b"<script>\xff"),
                Some(SnmpValue::OctetString("<script>\u{fffd}".into())),
            ),
            (
                snmp2::Value::ObjectIdentifier(oid),
                Some(SnmpValue::ObjectIdentifier("1.3.6.1".into())),
            ),
            (
                snmp2::Value::IpAddress([192, 0, 2, 1]),
                Some(SnmpValue::IpAddress("192.0.2.1".into())),
            ),
            (snmp2::Value::Counter32(7), Some(SnmpValue::Counter32(7))),
            (snmp2::Value::Unsigned32(8), Some(SnmpValue::Unsigned32(8))),
            (snmp2::Value::Timeticks(9), Some(SnmpValue::Timeticks(9))),
            (
                snmp2::Value::Opaque(&[0xde, 0xad]),
                Some(SnmpValue::Opaque("dead".into())),
            ),
            (
                snmp2::Value::Counter64(u64::MAX),
                Some(SnmpValue::Counter64(u64::MAX)),
            ),
            (snmp2::Value::Null, Some(SnmpValue::Null)),
            (snmp2::Value::NoSuchObject, Some(SnmpValue::NoSuchObject)),
            (
                snmp2::Value::NoSuchInstance,
                Some(SnmpValue::NoSuchInstance),
            ),
            (snmp2::Value::EndOfMibView, Some(SnmpValue::EndOfMibView)),
        ];
        for (value, want) in cases {
            assert_eq!(convert(&value), want, "{value:?}");
        }
    }

    #[test]
    fn error_status_names() {
        assert_eq!(error_status_name(1), "tooBig");
        assert_eq!(error_status_name(2), "noSuchName");
        assert_eq!(error_status_name(18), "inconsistentName");
        assert_eq!(error_status_name(99), "unknown");
    }

    #[test]
    fn oids_convert_both_ways() {
        let ours = Oid::parse("1.3.6.1.2.1.31.1.1.1.6.4294967295").expect("oid");
        let theirs = to_library_oid(&ours).expect("encode");
        assert_eq!(from_library_oid(&theirs), Some(ours));
    }
}
