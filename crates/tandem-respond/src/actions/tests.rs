use super::*;
use proptest::prelude::*;
use tandem_cases::response::{ActionRequest, ActionTarget};

fn incident(title: &str) -> Incident {
    serde_json::from_value(serde_json::json!({
        "id": "INC-7", "version": 1, "title": title, "summary": "", "playbook": "generic",
        "severity": "high", "status": "new", "origin": "manual",
    }))
    .unwrap()
}
use tandem_cases::Incident;

fn facts(identifier: &str) -> TargetFacts {
    TargetFacts {
        target: ActionTarget {
            entity: "person:E1".into(),
            identifier: identifier.into(),
            label: "Kari, badge 4411".into(),
        },
        person: Some(serde_json::json!({"id": "E1", "name": "Kari", "email": "kari@corp.example"})),
        device: Some(serde_json::json!({"id": "LAP-1", "hostname": "lap-1"})),
    }
}

#[test]
fn every_shipped_definition_is_valid() {
    for (name, text) in SHIPPED {
        if let Err(e) = parse(name, text) {
            panic!("{name}: {e:?}");
        }
    }
    assert_eq!(shipped().len(), SHIPPED.len());
}

#[test]
fn shipped_definitions_render_the_vendors_requests() {
    let c = Catalog::new(Vec::new(), Vec::new());
    let inc = incident("Tailgate at the lab");
    let r = |id: &str| {
        render(
            c.get(id).unwrap(),
            &inc,
            &facts("4411"),
            "run-1",
            "",
            "http://t/incidents/INC-7",
        )
        .unwrap()
        .request
    };
    let okta = r("disable-okta-account");
    assert_eq!(
        (okta.method.as_str(), okta.path.as_str()),
        ("POST", "/api/v1/users/4411/lifecycle/suspend")
    );
    let entra = r("disable-entra-account");
    assert_eq!(entra.method, "PATCH");
    assert_eq!(entra.path, "/v1.0/users/4411");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(entra.body.as_deref().unwrap()).unwrap(),
        serde_json::json!({"accountEnabled": false})
    );
    let verkada = r("suspend-badge-verkada");
    assert_eq!(verkada.method, "PUT");
    assert_eq!(
        verkada.path,
        "/access/v1/credentials/card/deactivate?external_id=kari%40corp.example&card_id=4411"
    );
    let badge = r("suspend-badge");
    let body: serde_json::Value = serde_json::from_str(badge.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["badge"], "4411");
    let slack = r("post-to-channel");
    let body: serde_json::Value = serde_json::from_str(slack.body.as_deref().unwrap()).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Tailgate at the lab")
    );
    let edr = r("isolate-host");
    let body: serde_json::Value = serde_json::from_str(edr.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["device_id"], "LAP-1");
}

#[test]
fn a_definition_error_names_its_line() {
    let text = "id: x\ntitle: X\nrisk: low\ntarget: badge\nconnection: c\nmethod: FETCH\npath: \"/{{ target.identifier \"\n";
    let e = parse("x.yaml", text).unwrap_err();
    assert_eq!(e[0].line, 6, "{e:?}");
    assert!(e[0].reason.contains("method"), "{e:?}");
    assert_eq!(e[1].line, 7, "{e:?}");
    let e = parse("x.yaml", "id: x\ntitle: X\nrisk: extreme\n").unwrap_err();
    assert_eq!(e[0].line, 3, "{e:?}");
    let e = parse("x.yaml", "id: x\ntitle: X\nrisk: low\ntarget: badge\nconnection: c\nmethod: GET\napprove: [janitor]\n").unwrap_err();
    assert_eq!(e[0].line, 7, "{e:?}");
}

#[test]
fn an_undefined_value_is_an_error_not_an_empty_string() {
    let def = parse("x.yaml", "id: x\ntitle: X\nrisk: low\ntarget: badge\nconnection: c\nmethod: GET\npath: \"/{{ person.nickname }}\"\n").unwrap();
    let mut f = facts("1");
    f.person = Some(serde_json::json!({"id": "E1"}));
    assert!(matches!(
        render(&def, &incident("t"), &f, "r", "", "u"),
        Err(ActionError::Template { .. })
    ));
}

#[test]
fn secrets_are_masked_when_shown_and_sent_when_sent() {
    let conn = Connection {
        name: "slack".into(),
        base_url: "https://hooks.slack.com/services/T0/B0/secretpart".into(),
        secret_url: true,
        headers: [("Authorization".to_owned(), "Bearer s3cr3t".to_owned())].into(),
    };
    let req = ActionRequest {
        connection: "slack".into(),
        method: "POST".into(),
        path: String::new(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some("{}".into()),
        expect: vec![],
    };
    let shown = shown(&req, Some(&conn));
    let text = format!("{shown:?}");
    assert!(
        !text.contains("s3cr3t") && !text.contains("secretpart"),
        "{text}"
    );
    assert!(shown.url.starts_with("https://hooks.slack.com/"));
    let sent = to_send(&req, &conn);
    assert_eq!(sent.url, conn.base_url);
    assert!(
        sent.headers
            .contains(&("Authorization".into(), "Bearer s3cr3t".into()))
    );
}

proptest! {
    /// Whatever a person's or an incident's text holds, the body stays the JSON the
    /// definition wrote and the path gains no segment.
    #[test]
    fn values_cannot_break_out_of_their_place(id in "\\PC{0,40}", title in "\\PC{0,80}") {
        let c = Catalog::new(Vec::new(), Vec::new());
        let def = c.get("suspend-badge").unwrap();
        let req = render(def, &incident(&title), &facts(&id), "r", "", "u").unwrap().request;
        let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
        prop_assert_eq!(body["badge"].as_str().unwrap(), id.as_str());
        prop_assert_eq!(req.path.matches('/').count(), 3);
        prop_assert!(!req.path.contains('?') && !req.path.contains('#'));
    }

    #[test]
    fn any_text_as_a_definition_never_panics(text in "\\PC{0,300}") {
        let _ = parse("x.yaml", &text);
    }
}
