//! The HTTP control API, served on a free port, driven with plain HTTP/1.1 requests, its
//! effects checked over SNMP.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use netpulse_simulator::http::{self, DeviceAddress};
use netpulse_simulator::Simulator;
use support::{cell, simulator, Answer, Client, IF_NAME, IF_OPER_STATUS, SYS_NAME, SYS_UP_TIME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The control API of `sim`, on a free port; send on the returned sender to stop it.
async fn control_api(sim: &Simulator) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, sim.control(), async {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

/// Sends one request; returns the status code and the body.
async fn call(api: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(api).await.expect("a connection");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("the request is sent");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("a response");
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("an answer in time");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn lists_devices_with_their_addresses() {
    let sim = simulator(2, 2).await;
    let (api, stop, server) = control_api(&sim).await;
    let (status, body) = call(api, "GET", "/devices").await;
    assert_eq!(status, 200);
    let listed: Vec<DeviceAddress> = serde_json::from_str(&body).expect("a JSON list");
    let expected: Vec<DeviceAddress> = sim
        .addresses()
        .iter()
        .enumerate()
        .map(|(device, address)| DeviceAddress {
            device,
            address: address.to_string(),
        })
        .collect();
    assert_eq!(listed, expected);
    let _ = stop.send(());
    server.await.expect("the server stops");
    sim.stop().await;
}

#[tokio::test]
async fn changes_reach_the_devices() {
    let sim = simulator(2, 2).await;
    let (api, stop, server) = control_api(&sim).await;
    let mut client = Client::new(sim.addresses()[0]).await;
    client.set_timeout(Duration::from_millis(500));

    let (status, body) = call(api, "POST", "/devices/0/renumber?offset=100").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"device":0,"action":"renumber"}"#)
    );
    assert_eq!(
        client.value(&cell(IF_NAME, 101)).await,
        Answer::Text("eth0".to_owned())
    );

    assert_eq!(
        call(api, "POST", "/devices/0/interfaces/1/down").await.0,
        200
    );
    assert_eq!(
        client.value(&cell(IF_OPER_STATUS, 102)).await,
        Answer::Integer(2)
    );
    assert_eq!(call(api, "POST", "/devices/0/interfaces/1/up").await.0, 200);
    assert_eq!(
        client.value(&cell(IF_OPER_STATUS, 102)).await,
        Answer::Integer(1)
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(call(api, "POST", "/devices/0/reboot").await.0, 200);
    assert!(client.value(SYS_UP_TIME).await.ticks() < 20);

    assert_eq!(call(api, "POST", "/devices/0/wrap").await.0, 200);
    let wrapping = client
        .value(&cell("1.3.6.1.2.1.2.2.1.10", 101))
        .await
        .counter32();
    assert!(wrapping > u32::MAX - 12_500_000, "{wrapping}");

    assert_eq!(call(api, "POST", "/devices/0/silent").await.0, 200);
    assert_eq!(client.get(&[SYS_NAME]).await, None);
    assert_eq!(call(api, "POST", "/devices/0/answer").await.0, 200);
    assert!(client.get(&[SYS_NAME]).await.is_some());

    assert_eq!(call(api, "POST", "/devices/0/delay?ms=700").await.0, 200);
    assert_eq!(client.get(&[SYS_NAME]).await, None);
    assert_eq!(call(api, "POST", "/devices/0/delay?ms=0").await.0, 200);
    assert!(client.get(&[SYS_NAME]).await.is_some());

    let _ = stop.send(());
    server.await.expect("the server stops");
    sim.stop().await;
}

#[tokio::test]
async fn mistakes_get_clear_errors() {
    let sim = simulator(1, 2).await;
    let (api, stop, server) = control_api(&sim).await;
    let cases = [
        (
            "POST",
            "/devices/3/reboot",
            404,
            r#"{"error":"no device 3"}"#,
        ),
        (
            "POST",
            "/devices/0/interfaces/2/down",
            404,
            r#"{"error":"device 0 has no interface 2"}"#,
        ),
        (
            "POST",
            "/devices/0/interfaces/1/sideways",
            404,
            r#"{"error":"no such route"}"#,
        ),
        (
            "POST",
            "/devices/0/renumber",
            400,
            r#"{"error":"bad query string"}"#,
        ),
        (
            "POST",
            "/devices/0/delay?ms=soon",
            400,
            r#"{"error":"bad query string"}"#,
        ),
        (
            "GET",
            "/devices/0/reboot",
            405,
            r#"{"error":"method not allowed"}"#,
        ),
        ("POST", "/elsewhere", 404, r#"{"error":"no such route"}"#),
    ];
    for (method, path, status, body) in cases {
        assert_eq!(
            call(api, method, path).await,
            (status, body.to_owned()),
            "{method} {path}"
        );
    }
    let _ = stop.send(());
    server.await.expect("the server stops");
    sim.stop().await;
}
