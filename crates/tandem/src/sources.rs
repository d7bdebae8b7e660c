//! The sources and MQTT subscriptions `tandem.toml` declares, checked the same way by
//! `tandem serve` (before it registers them) and `tandem config` (so a configuration, or a
//! snippet of the docs, can be checked without starting a server).

use crate::config::Config;
use anyhow::Context;
use std::sync::Arc;
use tandem_ingest::decode::Format;
use tandem_ingest::integrations::iot::IotMapping;
use tandem_ingest::integrations::mapping::Mapping;
use tandem_pipeline::mqtt::{BrokerSettings, FrigateTopics, IotTopics, TopicDecoder};
use tandem_pipeline::pipeline::Source;

/// Every `[[sources]]` entry as a source: its format known, its mapping valid, a signed
/// source with its secret. Keys come from the file only (the caller adds registered ones).
pub fn configured(config: &Config) -> anyhow::Result<Vec<Source>> {
    let mut out = Vec::new();
    for s in &config.sources {
        let format: Format = s
            .format
            .parse()
            .with_context(|| format!("source `{}` in the configuration", s.name))?;
        let mut source = Source::new(&s.name, format);
        source.vendor.clone_from(&s.vendor);
        source.product.clone_from(&s.product);
        source.webhook_secret = s.webhook_secret.as_deref().map(Arc::from);
        if let Some(m) = &s.mapping {
            let mapping: Mapping = m
                .clone()
                .try_into()
                .with_context(|| format!("source `{}`: mapping", s.name))?;
            mapping
                .validate()
                .map_err(|e| anyhow::anyhow!("source `{}`: mapping: {e}", s.name))?;
            source.mapping = Some(Arc::new(mapping));
        }
        anyhow::ensure!(
            format != Format::Mapped || source.mapping.is_some(),
            "source `{}` has format `mapped` but no [sources.mapping]",
            s.name
        );
        anyhow::ensure!(
            format != Format::Verkada || source.webhook_secret.is_some(),
            "source `{}` has format `verkada` but no webhook_secret",
            s.name
        );
        source.key_sha256.clone_from(&s.api_key_sha256);
        out.push(source);
    }
    Ok(out)
}

/// One MQTT subscription: the broker, the decoder for its topics, the source it feeds.
pub type Subscription = (BrokerSettings, Box<dyn TopicDecoder>, Source);

/// Every `[[mqtt]]` entry, its format and topic rules checked.
pub fn subscriptions(config: &Config) -> anyhow::Result<Vec<Subscription>> {
    let mut out = Vec::new();
    for m in &config.mqtt {
        let format: Format = m
            .format
            .parse()
            .with_context(|| format!("[[mqtt]] for source `{}`", m.source))?;
        let decoder: Box<dyn TopicDecoder> = match format {
            Format::Frigate => Box::new(FrigateTopics::new(&m.prefix)),
            Format::Iot => {
                let rules = m.rules.clone().ok_or_else(|| {
                    anyhow::anyhow!("[[mqtt]] `{}`: an iot subscription needs rules", m.source)
                })?;
                let mapping: IotMapping =
                    toml::Value::Table(toml::map::Map::from_iter([("rules".to_owned(), rules)]))
                        .try_into()
                        .with_context(|| format!("[[mqtt]] `{}`: rules", m.source))?;
                mapping
                    .validate()
                    .map_err(|e| anyhow::anyhow!("[[mqtt]] `{}`: {e}", m.source))?;
                Box::new(IotTopics(mapping))
            }
            other => anyhow::bail!(
                "[[mqtt]] `{}`: format must be frigate or iot, not {other}",
                m.source
            ),
        };
        let mut source = Source::new(&m.source, format);
        source.vendor = Some(
            if format == Format::Frigate {
                "Frigate"
            } else {
                "MQTT"
            }
            .into(),
        );
        out.push((m.broker.clone(), decoder, source));
    }
    Ok(out)
}

/// Checks everything `tandem serve` would refuse at start in the sources and subscriptions.
pub fn check(config: &Config) -> anyhow::Result<()> {
    configured(config)?;
    subscriptions(config)?;
    Ok(())
}
