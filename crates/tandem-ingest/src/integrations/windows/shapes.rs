//! The JSON shapes a Windows event arrives in, each reduced to a [`Record`].

use super::map::Record;
use crate::decode::{DecodeError, quote, time};
use serde_json::{Map, Value};

/// NXLog `im_msvistalog` fields that come from `<System>`, the module or NXLog itself; every
/// other top-level field of an NXLog record is an EventData field. Source: NXLog reference
/// manual, im_msvistalog "Fields" (plus `ExecutionProcessID`/`ExecutionThreadID`/`TaskValue`,
/// written by NXLog Agent 6 with `ParseEventXML`).
const NXLOG_SYSTEM: &[&str] = &[
    "AccountName",
    "AccountType",
    "ActivityID",
    "ActivityId",
    "Category",
    "Channel",
    "Domain",
    "ERROR_EVT_UNRESOLVED",
    "EventID",
    "EventReceivedTime",
    "EventTime",
    "EventType",
    "EventXML",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "Hostname",
    "Keywords",
    "Level",
    "LevelValue",
    "Message",
    "Opcode",
    "OpcodeValue",
    "ProcessID",
    "ProviderGuid",
    "RecordNumber",
    "RelatedActivityID",
    "Severity",
    "SeverityValue",
    "SourceModuleName",
    "SourceModuleType",
    "SourceName",
    "Task",
    "TaskValue",
    "ThreadID",
    "UserID",
    "Version",
];

/// Which producer wrote a JSON line, told apart by its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Winlogbeat 7 and later (ECS): a `winlog` object.
    Winlogbeat,
    /// Winlogbeat 6: `event_id`, `log_name`, `source_name`, `event_data` at top level.
    Winlogbeat6,
    /// NXLog `im_msvistalog` + `to_json()`: `EventID` and EventData flattened at top level.
    Nxlog,
    /// The JSON the `evtx` crate (and `evtx_dump`) makes of a record: `{"Event":{"System":…}}`.
    EvtxJson,
}

impl Shape {
    pub(super) fn detect(map: &Map<String, Value>) -> Option<Shape> {
        if map.get("winlog").is_some_and(Value::is_object) {
            Some(Shape::Winlogbeat)
        } else if map.get("Event").is_some_and(Value::is_object) {
            Some(Shape::EvtxJson)
        } else if map.contains_key("EventID") {
            Some(Shape::Nxlog)
        } else if map.contains_key("event_id")
            && (map.contains_key("log_name") || map.contains_key("event_data"))
        {
            Some(Shape::Winlogbeat6)
        } else {
            None
        }
    }
}

/// Reduces one JSON object to a [`Record`], whichever shape it is in.
pub(super) fn record(map: &Map<String, Value>) -> Result<Record, DecodeError> {
    match Shape::detect(map) {
        Some(Shape::Winlogbeat) => winlogbeat(map),
        Some(Shape::Winlogbeat6) => winlogbeat6(map),
        Some(Shape::Nxlog) => nxlog(map),
        Some(Shape::EvtxJson) => match map.get("Event") {
            Some(Value::Object(event)) => evtx_event(event),
            _ => Err(invalid("`Event` is not an object")),
        },
        None => Err(invalid(
            "not a Windows event: expected a Winlogbeat `winlog` object, an NXLog `EventID`, \
             or an EVTX `Event` object",
        )),
    }
}

fn invalid(message: &str) -> DecodeError {
    DecodeError::Invalid(message.to_owned())
}

/// A text value, numbers written as decimal.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The event id, from a number, a numeric string, or EVTX's `{"#text": 4624, "#attributes":
/// {"Qualifiers": …}}`.
fn event_id(v: Option<&Value>, field: &str) -> Result<u32, DecodeError> {
    let v = v.ok_or_else(|| DecodeError::Invalid(format!("missing field `{field}`")))?;
    let parsed = match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<u32>().ok(),
        Value::Object(o) => return event_id(o.get("#text"), field),
        _ => None,
    };
    parsed.ok_or_else(|| {
        DecodeError::Invalid(format!(
            "`{field}` must be a number, got {}",
            quote(&v.to_string())
        ))
    })
}

fn record_id(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn some(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| !v.is_null()).cloned()
}

/// One EventData value as a string, as Windows renders it: numbers in decimal, booleans as
/// `true`/`false`, a repeated name (an array) as an array of strings, an element with
/// attributes by its `#text`.
///
/// A value that is there but empty is kept as `""`: Sigma tells a field that is empty
/// (`CommandLine: ''`) from one that is absent (`CommandLine: null`), and about thirty SigmaHQ
/// Windows rules test for the empty one. JSON `null` is how the `evtx` crate renders an empty
/// element (`<Data Name="CommandLine"/>`), so it is empty too; only a name that is not there
/// at all is absent.
fn data_value(v: &Value) -> Value {
    match v {
        Value::Null => Value::String(String::new()),
        Value::String(_) => v.clone(),
        Value::Number(n) => n.to_string().into(),
        Value::Bool(b) => b.to_string().into(),
        Value::Array(items) => Value::Array(items.iter().map(data_value).collect()),
        Value::Object(o) => match o.get("#text") {
            Some(t) => data_value(t),
            // An element with attributes and no text: empty.
            None if o.keys().all(|k| k.starts_with('#')) => Value::String(String::new()),
            None => v.to_string().into(),
        },
    }
}

/// Copies name → value pairs into EventData form, skipping XML attributes (`#attributes`,
/// `*_attributes`); empty values are kept (see [`data_value`]).
fn data_from(into: &mut Map<String, Value>, from: &Map<String, Value>, skip: &[&str]) {
    for (k, v) in from {
        if k.starts_with('#') || k.ends_with("_attributes") || skip.contains(&k.as_str()) {
            continue;
        }
        into.insert(k.clone(), data_value(v));
    }
}

/// A value at a dotted path of nested objects.
fn path<'a>(map: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut v = map.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// Winlogbeat 7+ (ECS). Sample (Elastic beats test data, trimmed):
/// `{"@timestamp":"2019-03-29T21:10:40.3805426Z","host":{"name":"vagrant-2012-r2"},
/// "winlog":{"channel":"Security","computer_name":"vagrant-2012-r2","event_id":"4624",
/// "provider_name":"Microsoft-Windows-Security-Auditing","record_id":1542,"event_data":{…}}}`
fn winlogbeat(map: &Map<String, Value>) -> Result<Record, DecodeError> {
    let Some(Value::Object(w)) = map.get("winlog") else {
        return Err(invalid("`winlog` is not an object"));
    };
    let mut rec = Record {
        time: map.get("@timestamp").and_then(time::from_json),
        event_id: event_id(
            w.get("event_id").or(path(map, "event.code")),
            "winlog.event_id",
        )?,
        channel: text(w.get("channel")),
        provider: text(w.get("provider_name")),
        computer: text(w.get("computer_name")).or_else(|| text(path(map, "host.name"))),
        record_id: record_id(w.get("record_id")),
        task: some(w.get("task")),
        opcode: some(w.get("opcode")),
        keywords: some(w.get("keywords")),
        rendered: text(map.get("message")),
        ..Record::default()
    };
    fill_data(&mut rec, w.get("event_data"), w.get("user_data"));
    Ok(rec)
}

/// Winlogbeat 6.x. Sample (beats `libbeat/processors/script` test, trimmed):
/// `{"@timestamp":"2018-08-19T12:49:02.238Z","computer_name":"bert","event_data":{…},
/// "event_id":3,"log_name":"Microsoft-Windows-Sysmon/Operational","record_number":"2475",
/// "source_name":"Microsoft-Windows-Sysmon"}`
fn winlogbeat6(map: &Map<String, Value>) -> Result<Record, DecodeError> {
    let mut rec = Record {
        time: map.get("@timestamp").and_then(time::from_json),
        event_id: event_id(map.get("event_id"), "event_id")?,
        channel: text(map.get("log_name")),
        provider: text(map.get("source_name")),
        computer: text(map.get("computer_name")).or_else(|| text(path(map, "host.name"))),
        record_id: record_id(map.get("record_number")),
        task: some(map.get("task")),
        opcode: some(map.get("opcode")),
        keywords: some(map.get("keywords")),
        rendered: text(map.get("message")),
        ..Record::default()
    };
    fill_data(&mut rec, map.get("event_data"), map.get("user_data"));
    Ok(rec)
}

/// Winlogbeat's `event_data` and `user_data` (whose `xml_name` is the UserData element).
fn fill_data(rec: &mut Record, event_data: Option<&Value>, user_data: Option<&Value>) {
    if let Some(Value::Object(d)) = event_data {
        data_from(&mut rec.data, d, &[]);
    }
    if let Some(Value::Object(u)) = user_data {
        rec.user_data = text(u.get("xml_name"));
        data_from(&mut rec.data, u, &["xml_name"]);
    }
}

/// NXLog `im_msvistalog` with `to_json()`. Sample (NXLog output quoted in public test code,
/// trimmed): `{"EventTime":"2021-03-31T12:03:46.974060+03:00","Hostname":"hostname3",
/// "Keywords":"9232379236109516800","EventID":4769,"SourceName":"Microsoft-Windows-Security-Auditing",
/// "RecordNumber":152410252,"Channel":"Security","TargetUserName":"user1$@DOMAIN.RU",…}`.
/// `EventTime` is the agent's local time unless NXLog is configured to write UTC or an
/// offset; a time without an offset is taken as UTC.
fn nxlog(map: &Map<String, Value>) -> Result<Record, DecodeError> {
    let mut rec = Record {
        time: map.get("EventTime").and_then(time::from_json),
        event_id: event_id(map.get("EventID"), "EventID")?,
        channel: text(map.get("Channel")),
        provider: text(map.get("SourceName")),
        computer: text(map.get("Hostname")),
        record_id: record_id(map.get("RecordNumber")),
        task: some(
            map.get("Category")
                .or(map.get("Task"))
                .or(map.get("TaskValue")),
        ),
        opcode: some(map.get("Opcode").or(map.get("OpcodeValue"))),
        keywords: some(map.get("Keywords")),
        rendered: text(map.get("Message")),
        ..Record::default()
    };
    data_from(&mut rec.data, map, NXLOG_SYSTEM);
    Ok(rec)
}

/// The `<Event>` element as the `evtx` crate renders it to JSON (attributes under
/// `#attributes`, or `<name>_attributes` with `separate_json_attributes`). Sample:
/// `{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},
/// "EventID":4624,"TimeCreated":{"#attributes":{"SystemTime":"2019-03-29T21:10:40.380542Z"}},
/// "EventRecordID":1542,"Channel":"Security","Computer":"vagrant-2012-r2"},
/// "EventData":{"TargetUserName":"vagrant",…}}`
pub(super) fn evtx_event(event: &Map<String, Value>) -> Result<Record, DecodeError> {
    let Some(Value::Object(system)) = event.get("System") else {
        return Err(invalid("missing field `Event.System`"));
    };
    let attribute = |element: &str, name: &str| {
        let attrs = system
            .get(element)
            .and_then(|e| e.get("#attributes"))
            .or_else(|| system.get(&format!("{element}_attributes")));
        attrs.and_then(|a| a.get(name))
    };
    let mut rec = Record {
        time: attribute("TimeCreated", "SystemTime").and_then(time::from_json),
        event_id: event_id(system.get("EventID"), "Event.System.EventID")?,
        channel: text(system.get("Channel")),
        provider: text(attribute("Provider", "Name")),
        computer: text(system.get("Computer")),
        record_id: record_id(system.get("EventRecordID")),
        task: some(system.get("Task")),
        opcode: some(system.get("Opcode")),
        keywords: some(system.get("Keywords")),
        ..Record::default()
    };
    match event.get("EventData") {
        Some(Value::Object(d)) => evtx_event_data(&mut rec.data, d),
        // `<EventData>` holding bare text.
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Array(_))) => {
            rec.data.insert("Data".to_owned(), data_value(v));
        }
        _ => {}
    }
    if let Some(Value::Object(u)) = event.get("UserData") {
        // UserData holds one provider-defined element (`<LogFileCleared>`); its children are
        // the fields.
        if let Some((name, Value::Object(child))) = u.iter().find(|(k, _)| !k.starts_with('#')) {
            rec.user_data = Some(name.clone());
            data_from(&mut rec.data, child, &[]);
        }
    }
    Ok(rec)
}

/// EventData from EVTX JSON: named keys (`{"TargetUserName":"alice"}`), or a `Data` list of
/// `{"#attributes":{"Name":…},"#text":…}` items, or unnamed `Data` values (classic events such
/// as Service Control Manager 7036, which the `evtx` crate renders `{"Data":{"#text":[…]}}`),
/// kept in order, empty ones included, as one flat list under `Data`: `Data: running` in a
/// rule matches whichever position holds it.
fn evtx_event_data(into: &mut Map<String, Value>, d: &Map<String, Value>) {
    let items: Vec<&Value> = match d.get("Data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let mut unnamed = Vec::new();
    for item in items {
        let name = item
            .get("#attributes")
            .and_then(|a| a.get("Name"))
            .and_then(Value::as_str);
        match name {
            Some(name) => {
                let v = data_value(item.get("#text").unwrap_or(&Value::Null));
                into.insert(name.to_owned(), v);
            }
            None => match data_value(item) {
                Value::Array(values) => unnamed.extend(values.into_iter().map(flat_text)),
                v => unnamed.push(v),
            },
        }
    }
    let data_list = d.get("Data").is_some_and(|v| v.is_array() || v.is_object());
    for (k, v) in d {
        if k.starts_with('#') || k.ends_with("_attributes") || (k == "Data" && data_list) {
            continue;
        }
        into.insert(k.clone(), data_value(v));
    }
    if !unnamed.is_empty() {
        into.insert("Data".to_owned(), Value::Array(unnamed));
    }
}

/// One position of the flat `Data` list: a value that is itself a list (a string-array
/// `<Data>`) becomes its items joined by newlines, so the list stays one level deep.
fn flat_text(v: Value) -> Value {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
            .into(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn shapes_are_told_apart() {
        let detect = |v: Value| Shape::detect(&obj(v));
        assert_eq!(detect(json!({"winlog":{}})), Some(Shape::Winlogbeat));
        assert_eq!(detect(json!({"Event":{}})), Some(Shape::EvtxJson));
        assert_eq!(detect(json!({"EventID":4624})), Some(Shape::Nxlog));
        assert_eq!(
            detect(json!({"event_id":3,"log_name":"x"})),
            Some(Shape::Winlogbeat6)
        );
        assert_eq!(detect(json!({"winlog":"x","message":"m"})), None);
        assert_eq!(detect(json!({"event_id":3})), None);
    }

    #[test]
    fn evtx_data_lists_and_named_keys_agree() {
        let listed = json!({"System":{"EventID":1102},"EventData":{"Data":[
            {"#attributes":{"Name":"TargetUserName"},"#text":"alice"},
            {"#attributes":{"Name":"LogonType"},"#text":3},
            {"#attributes":{"Name":"Empty"},"#text":null}]}});
        let named = json!({"System":{"EventID":1102},"EventData":{
            "#attributes":{"xmlns":"x"},"TargetUserName":"alice","LogonType":3,"Empty":""}});
        let a = evtx_event(&obj(listed)).unwrap();
        let b = evtx_event(&obj(named)).unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(
            Value::Object(a.data),
            json!({"TargetUserName":"alice","LogonType":"3","Empty":""})
        );
    }

    #[test]
    fn empty_values_are_kept_and_absent_ones_are_not_invented() {
        // `evtx_dump` renders `<Data Name="CommandLine"/>` as null, Winlogbeat and NXLog as "".
        let evtx = json!({"System":{"EventID":1},"EventData":{"Data":[
            {"#attributes":{"Name":"Image"},"#text":"C:\\x.exe"},
            {"#attributes":{"Name":"CommandLine"},"#text":null},
            {"#attributes":{"Name":"Description"}}]}});
        let r = evtx_event(&obj(evtx)).unwrap();
        assert_eq!(
            Value::Object(r.data),
            json!({"Image":"C:\\x.exe","CommandLine":"","Description":""})
        );
        let nxlog = json!({"EventID":1,"Channel":"c","Image":"i","CommandLine":"","Hashes":null});
        let r = record(&obj(nxlog)).unwrap();
        assert_eq!(r.data.get("CommandLine"), Some(&json!("")));
        assert_eq!(r.data.get("Hashes"), Some(&json!("")));
        assert_eq!(r.data.get("ParentImage"), None);
        let beat = json!({"winlog":{"event_id":1,"event_data":{"CommandLine":"","Image":"i"}}});
        let r = record(&obj(beat)).unwrap();
        assert_eq!(r.data.get("CommandLine"), Some(&json!("")));
    }

    #[test]
    fn unnamed_data_is_one_flat_list_in_order_with_empty_values() {
        // How the evtx crate renders positional `<Data>`: one `#text` list.
        let rendered = json!({"System":{"EventID":7036},
            "EventData":{"Data":{"#text":["Windows Update","",null,"running"]},"Binary":""}});
        let r = evtx_event(&obj(rendered)).unwrap();
        assert_eq!(
            Value::Object(r.data),
            json!({"Data":["Windows Update","","","running"],"Binary":""})
        );
        let one = json!({"System":{"EventID":7036},"EventData":{"Data":{"#text":"only"}}});
        let r = evtx_event(&obj(one)).unwrap();
        assert_eq!(Value::Object(r.data), json!({"Data":["only"]}));
    }

    #[test]
    fn evtx_unnamed_data_and_user_data() {
        let classic = json!({"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036}},
            "EventData":{"Data":["Windows Update","running"],"Binary":"7700"}});
        let r = evtx_event(&obj(classic)).unwrap();
        assert_eq!(r.event_id, 7036);
        assert_eq!(
            Value::Object(r.data),
            json!({"Data":["Windows Update","running"],"Binary":"7700"})
        );
        let cleared = json!({"System":{"EventID":1102},"UserData":{"LogFileCleared":{
            "#attributes":{"xmlns":"http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
            "SubjectUserSid":"S-1-5-21-1-500","SubjectUserName":"Administrator"}}});
        let r = evtx_event(&obj(cleared)).unwrap();
        assert_eq!(r.user_data.as_deref(), Some("LogFileCleared"));
        assert_eq!(
            Value::Object(r.data),
            json!({"SubjectUserSid":"S-1-5-21-1-500","SubjectUserName":"Administrator"})
        );
    }

    #[test]
    fn bad_event_ids_name_the_field() {
        let err = record(&obj(json!({"winlog":{"event_id":"x"}}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`winlog.event_id` must be a number, got \"x\""
        );
        let err = record(&obj(json!({"winlog":{}}))).unwrap_err();
        assert_eq!(err.to_string(), "missing field `winlog.event_id`");
        let err = record(&obj(json!({"EventID":-1}))).unwrap_err();
        assert_eq!(err.to_string(), "`EventID` must be a number, got -1");
        let err = record(&obj(json!({"Event":{"EventData":{}}}))).unwrap_err();
        assert_eq!(err.to_string(), "missing field `Event.System`");
    }
}
