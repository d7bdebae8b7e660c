//! An in-memory EVTX file writer, shared by `tests/windows.rs`, `benches/parsers.rs` and
//! tandem-pipeline's `tests/bodies.rs` (included with `#[path]`; not a test target of its own).

// The writer below is adapted from the `evtx` crate's own test fixtures
// (evtx 0.15.1, `tests/fixtures.rs`: `BinXml` and `synthetic_evtx_records`), © Omer
// Ben-Amram and contributors, MIT OR Apache-2.0. It writes a one-chunk file whose records each
// hold an inline template instance, as Windows writes them (MS-EVEN6 BinXml).

pub const FILE_HEADER_SIZE: usize = 4096;
pub const CHUNK_SIZE: usize = 65536;
pub const CHUNK_HEADER_SIZE: usize = 512;
pub const RECORD_HEADER_SIZE: usize = 24;
pub const TEMPLATE_DEFINITION_HEADER_SIZE: usize = 24;

/// BinXml value types (MS-EVEN6 2.2.12, "Value type").
pub mod vt {
    pub const STRING: u8 = 0x01;
    pub const UINT8: u8 = 0x04;
    pub const UINT16: u8 = 0x06;
    pub const UINT32: u8 = 0x08;
    pub const UINT64: u8 = 0x0a;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEXINT64: u8 = 0x15;
}

/// Writes one record's BinXml.
pub type RecordWriter = Box<dyn Fn(&mut BinXml)>;

pub struct BinXml {
    bytes: Vec<u8>,
    base: u32,
}

impl BinXml {
    fn at(base: u32) -> Self {
        BinXml {
            bytes: Vec::new(),
            base,
        }
    }
    fn pos(&self) -> u32 {
        self.base + self.bytes.len() as u32
    }
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.raw(&[v])
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    fn utf16(&mut self, s: &str) -> &mut Self {
        for unit in s.encode_utf16() {
            self.u16(unit);
        }
        self
    }
    fn fragment_header(&mut self) -> &mut Self {
        self.raw(&[0x0f, 1, 1, 0])
    }
    fn eof(&mut self) -> &mut Self {
        self.u8(0x00)
    }
    /// An inline name: next string, hash, length, UTF-16, NUL.
    fn name(&mut self, name: &str) -> &mut Self {
        let offset = self.pos() + 4;
        self.u32(offset)
            .u32(0)
            .u16(0)
            .u16(name.encode_utf16().count() as u16)
            .utf16(name)
            .u16(0)
    }
    /// An element start inside a template definition (dependency id 0xffff = none).
    fn open(&mut self, name: &str) -> &mut Self {
        self.u8(0x01).u16(0xffff).u32(0).name(name)
    }
    fn open_with_attributes(&mut self, name: &str) -> &mut Self {
        let token = self.bytes.len();
        self.open(name);
        self.bytes[token] |= 0x40;
        self.u32(0)
    }
    fn attribute(&mut self, name: &str) -> &mut Self {
        self.u8(0x06).name(name)
    }
    fn close_start(&mut self) -> &mut Self {
        self.u8(0x02)
    }
    fn close_empty(&mut self) -> &mut Self {
        self.u8(0x03)
    }
    fn end_element(&mut self) -> &mut Self {
        self.u8(0x04)
    }
    fn text(&mut self, text: &str) -> &mut Self {
        self.u8(0x05)
            .u8(0x01)
            .u16(text.encode_utf16().count() as u16)
            .utf16(text)
    }
    fn substitution(&mut self, id: u16, value_type: u8) -> &mut Self {
        self.u8(0x0d).u16(id).u8(value_type)
    }
    /// `<name>text</name>`.
    fn text_element(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name).close_start().text(text).end_element()
    }
    /// `<name>{value id}</name>`.
    fn value_element(&mut self, name: &str, id: u16, value_type: u8) -> &mut Self {
        self.open(name)
            .close_start()
            .substitution(id, value_type)
            .end_element()
    }
    /// A template instance whose definition (`guid`, then what `definition` writes) follows
    /// inline, then its values (type, bytes).
    fn template_instance(
        &mut self,
        guid: [u8; 16],
        definition: impl FnOnce(&mut BinXml),
        values: &[(u8, Vec<u8>)],
    ) -> &mut Self {
        self.u8(0x0c).u8(0x01).u32(1);
        let definition_offset = self.pos() + 4;
        self.u32(definition_offset).u32(0).raw(&guid);
        let mut body = BinXml::at(definition_offset + TEMPLATE_DEFINITION_HEADER_SIZE as u32);
        body.fragment_header();
        definition(&mut body);
        body.eof();
        self.u32(body.bytes.len() as u32).raw(&body.bytes);
        self.u32(values.len() as u32);
        for (value_type, bytes) in values {
            self.u16(bytes.len() as u16).u8(*value_type).u8(0);
        }
        for (_, bytes) in values {
            self.raw(bytes);
        }
        self
    }
}

/// A one-chunk EVTX file holding `records`, each written by its closure at the offset it lands
/// at. Record numbers are `first_id..`.
pub fn evtx_file(first_id: u64, records: Vec<RecordWriter>) -> Vec<u8> {
    fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let count = records.len() as u64;
    let last_id = first_id + count - 1;
    let mut file = vec![0; FILE_HEADER_SIZE + CHUNK_SIZE];
    put(&mut file, 0, b"ElfFile\0");
    put(&mut file, 24, &(last_id + 1).to_le_bytes());
    put(&mut file, 32, &128u32.to_le_bytes());
    put(&mut file, 36, &1u16.to_le_bytes());
    put(&mut file, 38, &3u16.to_le_bytes());
    put(&mut file, 40, &(FILE_HEADER_SIZE as u16).to_le_bytes());
    put(&mut file, 42, &1u16.to_le_bytes());
    let checksum = evtx::checksum_ieee(&file[..120]);
    put(&mut file, 124, &checksum.to_le_bytes());

    let chunk = &mut file[FILE_HEADER_SIZE..];
    let mut start = CHUNK_HEADER_SIZE;
    let mut last = start;
    for (i, write) in records.iter().enumerate() {
        let mut binxml = BinXml::at((start + RECORD_HEADER_SIZE) as u32);
        write(&mut binxml);
        let size = RECORD_HEADER_SIZE + binxml.bytes.len() + 4;
        let end = start + size;
        assert!(end <= CHUNK_SIZE);
        let record = &mut chunk[start..end];
        put(record, 0, b"**\0\0");
        put(record, 4, &(size as u32).to_le_bytes());
        put(record, 8, &(first_id + i as u64).to_le_bytes());
        put(record, 16, &131_000_000_000_000_000u64.to_le_bytes());
        put(record, RECORD_HEADER_SIZE, &binxml.bytes);
        put(record, size - 4, &(size as u32).to_le_bytes());
        last = start;
        start = end;
    }
    put(chunk, 0, b"ElfChnk\0");
    for (at, id) in [(8, first_id), (16, last_id), (24, first_id), (32, last_id)] {
        put(chunk, at, &id.to_le_bytes());
    }
    put(chunk, 40, &128u32.to_le_bytes());
    put(chunk, 44, &(last as u32).to_le_bytes());
    put(chunk, 48, &(start as u32).to_le_bytes());
    let events_checksum = evtx::checksum_ieee(&chunk[CHUNK_HEADER_SIZE..start]);
    put(chunk, 52, &events_checksum.to_le_bytes());
    let header_checksum =
        evtx::checksum_ieee(&[&chunk[..120], &chunk[128..CHUNK_HEADER_SIZE]].concat());
    put(chunk, 124, &header_checksum.to_le_bytes());
    file
}

/// Value bytes for the types used below.
pub fn v_str(s: &str) -> (u8, Vec<u8>) {
    (
        vt::STRING,
        s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    )
}
pub fn v_u8(v: u8) -> (u8, Vec<u8>) {
    (vt::UINT8, vec![v])
}
pub fn v_u16(v: u16) -> (u8, Vec<u8>) {
    (vt::UINT16, v.to_le_bytes().to_vec())
}
pub fn v_u32(v: u32) -> (u8, Vec<u8>) {
    (vt::UINT32, v.to_le_bytes().to_vec())
}
pub fn v_u64(v: u64) -> (u8, Vec<u8>) {
    (vt::UINT64, v.to_le_bytes().to_vec())
}
pub fn v_hex64(v: u64) -> (u8, Vec<u8>) {
    (vt::HEXINT64, v.to_le_bytes().to_vec())
}
/// `S-1-<authority>-<sub>…`: revision, count, 48-bit big-endian authority, LE sub-authorities.
pub fn v_sid(s: &str) -> (u8, Vec<u8>) {
    let parts: Vec<u64> = s
        .strip_prefix("S-1-")
        .unwrap()
        .split('-')
        .map(|p| p.parse().unwrap())
        .collect();
    let mut b = vec![1, (parts.len() - 1) as u8];
    b.extend_from_slice(&parts[0].to_be_bytes()[2..]);
    for sub in &parts[1..] {
        b.extend_from_slice(&(*sub as u32).to_le_bytes());
    }
    (vt::SID, b)
}
pub fn v_guid_zero() -> (u8, Vec<u8>) {
    (vt::GUID, vec![0; 16])
}
/// FILETIME for an RFC 3339 time: 100 ns ticks since 1601-01-01.
pub fn v_filetime(t: &str) -> (u8, Vec<u8>) {
    let t: chrono::DateTime<chrono::Utc> = t.parse().unwrap();
    let ticks = (t.timestamp_nanos_opt().unwrap() / 100) as u64 + 116_444_736_000_000_000;
    (vt::FILETIME, ticks.to_le_bytes().to_vec())
}

/// The `<System>` values of a Security-Auditing record, as Windows' templates carry them.
pub struct System<'a> {
    event_id: u16,
    version: u8,
    task: u16,
    keywords: u64,
    time: &'a str,
    record_id: u64,
    computer: &'a str,
}

/// A Security record: `<System>` then `<EventData>` with one `<Data Name=…>` per field, each a
/// substitution of the given type.
pub fn security_record(
    sys: System<'static>,
    data: Vec<(&'static str, (u8, Vec<u8>))>,
    guid: u8,
) -> RecordWriter {
    Box::new(move |r: &mut BinXml| {
        let mut values = vec![
            v_u16(sys.event_id),
            v_u8(sys.version),
            v_u16(sys.task),
            v_hex64(sys.keywords),
            v_filetime(sys.time),
            v_u64(sys.record_id),
            v_str(sys.computer),
        ];
        values.extend(data.iter().map(|(_, v)| v.clone()));
        let names: Vec<&str> = data.iter().map(|(n, _)| *n).collect();
        let types: Vec<u8> = data.iter().map(|(_, (t, _))| *t).collect();
        r.fragment_header()
            .template_instance(
                [guid; 16],
                |d| {
                    d.open_with_attributes("Event")
                        .attribute("xmlns")
                        .text("http://schemas.microsoft.com/win/2004/08/events/event")
                        .close_start();
                    d.open("System").close_start();
                    d.open_with_attributes("Provider")
                        .attribute("Name")
                        .text("Microsoft-Windows-Security-Auditing")
                        .attribute("Guid")
                        .text("{54849625-5478-4994-a5ba-3e3b0328c30d}")
                        .close_empty();
                    d.value_element("EventID", 0, vt::UINT16)
                        .value_element("Version", 1, vt::UINT8)
                        .text_element("Level", "0")
                        .value_element("Task", 2, vt::UINT16)
                        .text_element("Opcode", "0")
                        .value_element("Keywords", 3, vt::HEXINT64);
                    d.open_with_attributes("TimeCreated")
                        .attribute("SystemTime")
                        .substitution(4, vt::FILETIME)
                        .close_empty();
                    d.value_element("EventRecordID", 5, vt::UINT64)
                        .text_element("Channel", "Security")
                        .value_element("Computer", 6, vt::STRING);
                    d.end_element(); // System
                    d.open("EventData").close_start();
                    for (i, (name, t)) in names.iter().zip(&types).enumerate() {
                        d.open_with_attributes("Data")
                            .attribute("Name")
                            .text(name)
                            .close_start()
                            .substitution(7 + i as u16, *t)
                            .end_element();
                    }
                    d.end_element(); // EventData
                    d.end_element(); // Event
                },
                &values,
            )
            .eof();
    })
}

/// Record 1542 of the Winlogbeat fixture (4624), with the types of the 4624 manifest.
pub fn evtx_4624() -> RecordWriter {
    security_record(
        System {
            event_id: 4624,
            version: 1,
            task: 12544,
            keywords: 0x8020_0000_0000_0000,
            time: "2019-03-29T21:10:40.3805426Z",
            record_id: 1542,
            computer: "vagrant-2012-r2",
        },
        vec![
            ("SubjectUserSid", v_sid("S-1-5-18")),
            ("SubjectUserName", v_str("VAGRANT-2012-R2$")),
            ("SubjectDomainName", v_str("WORKGROUP")),
            ("SubjectLogonId", v_hex64(0x3e7)),
            (
                "TargetUserSid",
                v_sid("S-1-5-21-3541430928-2051711210-1391384369-1001"),
            ),
            ("TargetUserName", v_str("vagrant")),
            ("TargetDomainName", v_str("VAGRANT-2012-R2")),
            ("TargetLogonId", v_hex64(0x1008e)),
            ("LogonType", v_u32(2)),
            ("LogonProcessName", v_str("User32 ")),
            ("AuthenticationPackageName", v_str("Negotiate")),
            ("WorkstationName", v_str("VAGRANT-2012-R2")),
            ("LogonGuid", v_guid_zero()),
            ("TransmittedServices", v_str("-")),
            ("LmPackageName", v_str("-")),
            ("KeyLength", v_u32(0)),
            ("ProcessId", v_hex64(0x1c0)),
            ("ProcessName", v_str("C:\\Windows\\System32\\winlogon.exe")),
            ("IpAddress", v_str("127.0.0.1")),
            ("IpPort", v_str("0")),
            ("ImpersonationLevel", v_str("%%1833")),
        ],
        0xa1,
    )
}

/// Record 237692 of the Winlogbeat fixture (4625, account locked out).
pub fn evtx_4625() -> RecordWriter {
    security_record(
        System {
            event_id: 4625,
            version: 0,
            task: 12544,
            keywords: 0x8010_0000_0000_0000,
            time: "2015-08-05T04:00:08.0386963Z",
            record_id: 237692,
            computer: "DC01.contoso.local",
        },
        vec![
            (
                "SubjectUserSid",
                v_sid("S-1-5-21-1377283216-344919071-3415362939-500"),
            ),
            ("SubjectUserName", v_str("dadmin")),
            ("SubjectDomainName", v_str("CONTOSO")),
            ("SubjectLogonId", v_hex64(0x1008e)),
            ("TargetUserSid", v_sid("S-1-0-0")),
            ("TargetUserName", v_str("Auditor")),
            ("TargetDomainName", v_str("CONTOSO")),
            ("Status", v_str("0xc0000234")),
            ("FailureReason", v_str("%%2307")),
            ("SubStatus", v_str("0x0")),
            ("LogonType", v_u32(2)),
            ("LogonProcessName", v_str("User32 ")),
            ("AuthenticationPackageName", v_str("Negotiate")),
            ("WorkstationName", v_str("WIN81")),
            ("TransmittedServices", v_str("-")),
            ("LmPackageName", v_str("-")),
            ("KeyLength", v_u32(0)),
            ("ProcessId", v_hex64(0x4c0)),
            ("ProcessName", v_str("C:\\Windows\\System32\\winlogon.exe")),
            ("IpAddress", v_str("127.0.0.1")),
            ("IpPort", v_str("0")),
        ],
        0xa2,
    )
}

pub fn sample_evtx() -> Vec<u8> {
    evtx_file(1542, vec![evtx_4624(), evtx_4625()])
}

/// A one-chunk file holding as many records as fit, alternating the 4624 and 4625 records
/// above (what a busy domain controller's Security log is mostly made of), and how many.
pub fn full_chunk_evtx() -> (Vec<u8>, usize) {
    let size = |write: RecordWriter| {
        let mut binxml = BinXml::at(0);
        write(&mut binxml);
        RECORD_HEADER_SIZE + binxml.bytes.len() + 4
    };
    let sizes = [size(evtx_4624()), size(evtx_4625())];
    let (mut count, mut used) = (0, CHUNK_HEADER_SIZE);
    while used + sizes[count % 2] <= CHUNK_SIZE {
        used += sizes[count % 2];
        count += 1;
    }
    let records = (0..count)
        .map(|i| if i % 2 == 0 { evtx_4624() } else { evtx_4625() })
        .collect();
    (evtx_file(1, records), count)
}

/// A record of any provider and channel, as Sysmon and the classic (pre-Vista) providers
/// write them: `<System>` (provider, event id, time, record id, channel, computer), then
/// `<EventData>` with one `<Data>` per field in order, named (`<Data Name="Image">`) or
/// positional (`<Data>`, classic events such as Service Control Manager 7036), each a string
/// substitution. An empty value is a string of length zero, as Windows writes one.
pub fn data_record(
    provider: &'static str,
    channel: &'static str,
    event_id: u16,
    time: &'static str,
    record_id: u64,
    fields: Vec<(Option<&'static str>, &'static str)>,
    guid: u8,
) -> RecordWriter {
    Box::new(move |r: &mut BinXml| {
        let mut values = vec![
            v_u16(event_id),
            v_filetime(time),
            v_u64(record_id),
            v_str("WS-0042.corp.example"),
        ];
        values.extend(fields.iter().map(|(_, v)| v_str(v)));
        let names: Vec<Option<&str>> = fields.iter().map(|(n, _)| *n).collect();
        r.fragment_header()
            .template_instance(
                [guid; 16],
                |d| {
                    d.open_with_attributes("Event")
                        .attribute("xmlns")
                        .text("http://schemas.microsoft.com/win/2004/08/events/event")
                        .close_start();
                    d.open("System").close_start();
                    d.open_with_attributes("Provider")
                        .attribute("Name")
                        .text(provider)
                        .close_empty();
                    d.value_element("EventID", 0, vt::UINT16)
                        .text_element("Version", "5")
                        .text_element("Level", "4");
                    d.open_with_attributes("TimeCreated")
                        .attribute("SystemTime")
                        .substitution(1, vt::FILETIME)
                        .close_empty();
                    d.value_element("EventRecordID", 2, vt::UINT64)
                        .text_element("Channel", channel)
                        .value_element("Computer", 3, vt::STRING);
                    d.end_element(); // System
                    d.open("EventData").close_start();
                    for (i, name) in names.iter().enumerate() {
                        match name {
                            Some(name) => d
                                .open_with_attributes("Data")
                                .attribute("Name")
                                .text(name)
                                .close_start(),
                            None => d.open("Data").close_start(),
                        };
                        d.substitution(4 + i as u16, vt::STRING).end_element();
                    }
                    d.end_element(); // EventData
                    d.end_element(); // Event
                },
                &values,
            )
            .eof();
    })
}
