//! The HTTP control API, served on a free port, driven with plain HTTP/1.1 requests, its
//! effects checked over SNMP.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use netpulse_simulator::http::{self, DeviceAddress};
use netpulse_simulator::wiring::{LinkDescription, PortDescription, Topology};
use netpulse_simulator::Simulator;
use support::{
    cell, linked_simulator, simulator, Answer, Client, IF_NAME, IF_OPER_STATUS, LLDP_REM_SYS_NAME,
    SYS_NAME, SYS_UP_TIME,
};
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

/// Sends one request without a body; returns the status code and the body.
async fn call(api: SocketAddr, method: &str, path: &str) -> (u16, String) {
    call_with(api, method, path, "").await
}

/// Sends one request with a JSON `body`; returns the status code and the body.
async fn call_with(api: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(api).await.expect("a connection");
        let length = body.len();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n{body}"
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

fn described(body: &str) -> Vec<LinkDescription> {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn end(device: usize, interface: usize, sys_name: &str) -> PortDescription {
    PortDescription {
        device,
        interface,
        if_index: interface as u32 + 1,
        if_name: format!("eth{interface}"),
        sys_name: sys_name.to_owned(),
        chassis_id: format!("06:00:00:00:00:{device:02x}"),
    }
}

#[tokio::test]
async fn links_are_listed_made_and_unmade() {
    let sim = linked_simulator(3, 2, Topology::Line.links(3, 2)).await;
    let (api, stop, server) = control_api(&sim).await;

    let (status, body) = call(api, "GET", "/links").await;
    assert_eq!(status, 200);
    assert_eq!(
        described(&body),
        [
            LinkDescription {
                a: end(0, 1, "sim-0"),
                b: end(1, 0, "sim-1"),
            },
            LinkDescription {
                a: end(1, 1, "sim-1"),
                b: end(2, 0, "sim-2"),
            },
        ]
    );
    assert!(body.starts_with(
        r#"[{"a":{"device":0,"interface":1,"if_index":2,"if_name":"eth1","sys_name":"sim-0","chassis_id":"06:00:00:00:00:00"}"#
    ));

    let (status, body) = call(api, "POST", "/links/2:1-0:0").await;
    assert_eq!(status, 200);
    assert_eq!(described(&body).len(), 3);
    let mut third = Client::new(sim.addresses()[2]).await;
    assert_eq!(third.walk(LLDP_REM_SYS_NAME).await.len(), 2);

    let hostile = r#"<img src=x onerror=alert(1)>"#;
    let (status, body) = call_with(
        api,
        "POST",
        "/devices/0/texts",
        &serde_json::json!({ "sys_name": hostile }).to_string(),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"device":0,"action":"texts"}"#)
    );
    assert_eq!(
        third.value(&format!("{LLDP_REM_SYS_NAME}.0.2.1")).await,
        Answer::Text(hostile.to_owned())
    );

    let (status, body) = call(api, "DELETE", "/links/0:0-2:1").await;
    assert_eq!(status, 200);
    assert_eq!(described(&body).len(), 2);
    assert_eq!(third.walk(LLDP_REM_SYS_NAME).await.len(), 1);

    let cases = [
        (
            "POST",
            "/links/0:1-2:1",
            409,
            r#"{"error":"interface 0:1 is already in link 0:1-1:0"}"#,
        ),
        (
            "POST",
            "/links/2:1-2:1",
            409,
            r#"{"error":"link 2:1-2:1 would join interface 2:1 to itself"}"#,
        ),
        (
            "POST",
            "/links/0:0-2:x",
            400,
            r#"{"error":"\"2:x\" is not a link end DEVICE:INTERFACE (such as 1:0, both from 0)"}"#,
        ),
        (
            "POST",
            "/links/0:0-3:0",
            404,
            r#"{"error":"link end 3:0: no device 3 (there are 3, from 0)"}"#,
        ),
        (
            "DELETE",
            "/links/0:0-2:1",
            404,
            r#"{"error":"no link 0:0-2:1"}"#,
        ),
    ];
    for (method, path, status, body) in cases {
        assert_eq!(
            call(api, method, path).await,
            (status, body.to_owned()),
            "{method} {path}"
        );
    }
    assert_eq!(
        call_with(api, "POST", "/devices/0/texts", r#"{"colour":"red"}"#).await,
        (400, r#"{"error":"bad JSON body"}"#.to_owned())
    );
    assert_eq!(
        call_with(api, "POST", "/devices/7/texts", "{}").await,
        (404, r#"{"error":"no device 7"}"#.to_owned())
    );

    let _ = stop.send(());
    server.await.expect("the server stops");
    sim.stop().await;
}
