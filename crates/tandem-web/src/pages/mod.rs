pub mod operate;
