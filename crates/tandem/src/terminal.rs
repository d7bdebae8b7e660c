//! Text for a terminal, from fields an attacker may have written.
//!
//! A log line, a user name or a door name can hold ESC and OSC sequences (`\x1b]8;;…` links,
//! `\x1b[2J` screen clears, title changes) or bidirectional overrides that make a table lie
//! to whoever reads it. Every table the command line prints goes through [`say!`], which
//! shows such characters escaped (`\x1b`, `\u{202e}`) instead of letting the terminal act on
//! them. `--json` output is left alone: JSON escapes control characters itself, and programs
//! reading it want the data as it is.

use std::borrow::Cow;
use std::fmt::Write;

/// Prints one line of human-readable output with control characters escaped.
macro_rules! say {
    () => { println!() };
    ($($arg:tt)*) => {
        println!("{}", $crate::terminal::escape(&format!($($arg)*)))
    };
}

/// Whether a terminal would act on `c` instead of showing it: C0 controls but tab (tables
/// use it as a column separator), DEL, C1 controls (U+0080–U+009F, which include the 8-bit
/// CSI and OSC) and the bidirectional embeddings, overrides and isolates.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character a terminal would act on written out as an escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !acts_on_terminal(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn terminal_sequences_are_shown_not_obeyed() {
        assert_eq!(escape("plain ünïcode\tcolumn"), "plain ünïcode\tcolumn");
        assert_eq!(escape("\x1b[2Jcleared"), "\\x1b[2Jcleared");
        assert_eq!(
            escape("\x1b]8;;http://evil.example\x07link\x1b]8;;\x07"),
            "\\x1b]8;;http://evil.example\\x07link\\x1b]8;;\\x07"
        );
        assert_eq!(escape("fake\nrow\r"), "fake\\x0arow\\x0d");
        assert_eq!(escape("\u{9b}31m 8-bit CSI"), "\\u{9b}31m 8-bit CSI");
        assert_eq!(escape("admin\u{202e}gpj.exe"), "admin\\u{202e}gpj.exe");
        assert_eq!(escape("del\x7f"), "del\\x7f");
    }
}
