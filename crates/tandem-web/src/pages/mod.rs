pub mod investigate;
pub mod operate;
