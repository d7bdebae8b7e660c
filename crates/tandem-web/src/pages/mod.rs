pub mod investigate;
pub mod live;
pub mod rules;
pub mod settings;
