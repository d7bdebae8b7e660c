//! The one error type of the crate, with a caret display for people.

/// Why an input was rejected, and where.
///
/// `position` is a byte offset into the text that was parsed (the whole query for
/// [`crate::parse`], the argument itself for [`crate::parse_time_bound`] and
/// [`crate::parse_span`]), so a UI can underline the exact spot instead of repeating the
/// whole query back to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct ParseError {
    /// What was wrong, phrased as what the parser expected to see.
    pub message: String,
    /// Byte offset into the input where the problem was noticed.
    pub position: usize,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>, position: usize) -> Self {
        Self {
            message: message.into(),
            position,
        }
    }

    /// Shift the position, for errors found in a slice of a larger input.
    pub(crate) fn offset(mut self, by: usize) -> Self {
        self.position = self.position.saturating_add(by);
        self
    }

    /// A two-line display: the offending line of `input`, then a caret under the error
    /// position followed by the message.
    ///
    /// Only the line that holds the error is shown, so multi-line queries still render as
    /// two lines; tabs are copied into the caret line so the caret stays aligned in a
    /// terminal.
    ///
    /// ```
    /// let input = "user:alice AND (";
    /// let err = tandem_query::parse(input).unwrap_err();
    /// assert_eq!(
    ///     err.render(input),
    ///     "user:alice AND (\n                ^ expected a search term after `(`"
    /// );
    /// ```
    pub fn render(&self, input: &str) -> String {
        let mut pos = self.position.min(input.len());
        while !input.is_char_boundary(pos) {
            pos -= 1;
        }
        let line_start = input[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = input[pos..].find('\n').map_or(input.len(), |i| pos + i);
        let line = input[line_start..line_end].trim_end_matches('\r');
        let pad: String = input[line_start..pos]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{line}\n{pad}^ {}", self.message)
    }
}
