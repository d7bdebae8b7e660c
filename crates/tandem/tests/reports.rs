//! Employees' reports through the real server, beyond the browser tour: what each kind
//! becomes. A suspicious payment request opens the payment-fraud incident whose first tasks
//! are Finance's; phishing reports of one campaign from several people are one alert with
//! the number of reporters.

mod support;

use support::TestServer;

const SAMPLE: &[u8] = include_bytes!("../../tandem-mail/tests/fixtures/phishing-pot-sample-1.eml");

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn form_token(server: &TestServer) -> String {
    let mut resp = agent()
        .get(format!("{}/report", server.url))
        .call()
        .unwrap();
    let html = resp.body_mut().read_to_string().unwrap();
    let at = html.find("name=\"form_token\" value=\"").unwrap() + 25;
    html[at..].split('"').next().unwrap().to_owned()
}

/// Files the report form (multipart) and answers the status.
fn file(server: &TestServer, token: &str, fields: &[(&str, &str)], eml: Option<&[u8]>) -> u16 {
    let boundary = "----tandem-report";
    let mut body: Vec<u8> = Vec::new();
    for (k, v) in fields.iter().chain([("form_token", token)].iter()) {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(eml) = eml {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"eml\"; filename=\"m.eml\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(eml);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    agent()
        .post(format!("{}/report", server.url))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_payment_request_opens_finances_tasks_and_a_campaign_is_one_alert_with_its_reporters() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("TANDEM_REPORTS__MIN_FILL_SECONDS", "1")];
    let server = TestServer::start(&dir.path().join("data"), None, &env);
    let token = form_token(&server);
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let payment = [
        ("kind", "payment_request"),
        (
            "q_payment_request_requester",
            "Nordic Steel AS, accounts@nordic-steel.example",
        ),
        ("q_payment_request_paid", "No"),
        (
            "description",
            "Supplier mail says their bank account changed; asks us to pay the open invoice there.",
        ),
    ];
    assert_eq!(file(&server, &token, &payment, None), 303);
    let (_, incidents) = server.get("/api/v1/incidents", &[]);
    let id = incidents["incidents"][0]["id"]
        .as_str()
        .expect("an incident")
        .to_owned();
    let (_, one) = server.get(&format!("/api/v1/incidents/{id}"), &[]);
    let inc = &one["incident"];
    assert_eq!(inc["playbook"], "payment-fraud", "{one}");
    let finance: Vec<&str> = inc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["department"] == "finance")
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert!(
        finance.contains(&"Stop or recall the payment"),
        "{finance:?}"
    );

    // The same lure reported three times: one alert, three reporters.
    for _ in 0..3 {
        assert_eq!(
            file(&server, &token, &[("kind", "phishing")], Some(SAMPLE)),
            303
        );
    }
    let (_, alerts) = server.get("/api/v1/alerts", &[]);
    let phishing: Vec<&serde_json::Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Phishing reported")
        })
        .collect();
    assert_eq!(phishing.len(), 1, "{alerts}");
    assert_eq!(phishing[0]["count"], 3);
    assert!(
        phishing[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Reported by 3 people")
    );
}
