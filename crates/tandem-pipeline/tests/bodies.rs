//! Whole request bodies through the pipeline, as `POST /api/v1/ingest` hands them over.

#[path = "../../tandem-ingest/tests/support/evtx.rs"]
#[allow(dead_code)]
mod evtx_support;
use evtx_support::sample_evtx;

/// An `.evtx` file sent as a request body (what `tandem ingest file.evtx` does) is recognised
/// by its magic and stored record by record through the pipeline.
#[test]
fn an_evtx_body_goes_through_the_pipeline() {
    use std::sync::Arc;
    use tandem_ingest::decode::Format;
    use tandem_pipeline::metrics::IngestMetrics;
    use tandem_pipeline::pipeline::{Limits, Pipeline, Source};
    use tandem_store::{EventStore, SearchRequest, SqliteStore, StoreConfig};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), StoreConfig::default()).unwrap());
    let pipeline = Pipeline::new(
        store.clone(),
        Limits::default(),
        Arc::new(IngestMetrics::new()),
    );
    let source = Source::new("dc01", Format::Windows);
    let decoded = pipeline.decode_body(&source, &sample_evtx());
    assert_eq!((decoded.report.accepted, decoded.report.rejected), (2, 0));
    pipeline.commit_blocking(decoded, "test").unwrap();
    let found = store
        .search(&SearchRequest::new(
            tandem_query::parse("source:dc01 AND event_data.TargetUserName:*").unwrap(),
        ))
        .unwrap();
    assert_eq!(found.total(), 2);
}
