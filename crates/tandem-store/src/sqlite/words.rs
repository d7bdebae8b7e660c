//! Free text is matched word by word, and a *word* has one definition: what SQLite's FTS5
//! `unicode61` tokenizer cuts from a text. That is a run of letters, digits and private-use
//! characters (Unicode categories L*, N* and Co), folded to lower case with diacritics
//! removed (`Café` → `cafe`); every other character (space, punctuation, symbols) separates
//! words.
//!
//! Sealed segments answer free text from their FTS5 index, built with that tokenizer. The
//! newest rows are not indexed yet; they are matched by the SQL function `tandem_text`, which
//! runs the very same tokenizer (found through FTS5's own API, not re-implemented) over their
//! message and raw text and compares words the way FTS5 compares a phrase. So a search gives
//! the same answer before and after its rows are sealed: `durtest`, `^durtest` and
//! `"(durtest)"` all mean the word `durtest`.

use rusqlite::ffi;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, OnceLock};

/// FTS5 cuts longer words to this many bytes, in its index and in queries; so do we.
const MAX_WORD_BYTES: usize = 32_768;

/// The `unicode61` tokenizer's entry points. They are plain C functions of the SQLite library
/// linked into this binary, so they outlive the connection they were looked up through.
#[derive(Clone, Copy)]
struct Unicode61 {
    create: unsafe extern "C" fn(
        *mut c_void,
        *mut *const c_char,
        c_int,
        *mut *mut ffi::Fts5Tokenizer,
    ) -> c_int,
    delete: unsafe extern "C" fn(*mut ffi::Fts5Tokenizer),
    tokenize: unsafe extern "C" fn(
        *mut ffi::Fts5Tokenizer,
        *mut c_void,
        c_int,
        *const c_char,
        c_int,
        Option<
            unsafe extern "C" fn(*mut c_void, c_int, *const c_char, c_int, c_int, c_int) -> c_int,
        >,
    ) -> c_int,
}

/// Looks the tokenizer up once per process; `None` if this SQLite has no FTS5 (then the
/// full-text index could not exist either, and free text falls back to scanning).
fn unicode61() -> Option<Unicode61> {
    static FOUND: OnceLock<Option<Unicode61>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let found = find_unicode61();
        if found.is_none() {
            tracing::warn!("SQLite's FTS5 unicode61 tokenizer was not found");
        }
        found
    })
}

fn find_unicode61() -> Option<Unicode61> {
    let conn = Connection::open_in_memory().ok()?;
    let mut api: *mut ffi::fts5_api = std::ptr::null_mut();
    // SAFETY: the documented way to reach FTS5's API (sqlite.org/fts5.html, "Extending FTS5"):
    // `SELECT fts5(?1)` with a pointer bound under the type "fts5_api_ptr" stores the API's
    // address into `api`. The statement is finalized before `api` is read, and `api` stays
    // valid while `conn` is open, which it is until the end of this function.
    unsafe {
        let db = conn.handle();
        let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        let sql = c"SELECT fts5(?1)";
        if ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut())
            != ffi::SQLITE_OK
        {
            return None;
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
        if api.is_null() || (*api).iVersion < 1 {
            return None;
        }
        let find = (*api).xFindTokenizer?;
        let mut user_data: *mut c_void = std::ptr::null_mut();
        let mut tokenizer = std::mem::zeroed::<ffi::fts5_tokenizer>();
        if find(api, c"unicode61".as_ptr(), &mut user_data, &mut tokenizer) != ffi::SQLITE_OK {
            return None;
        }
        Some(Unicode61 {
            create: tokenizer.xCreate?,
            delete: tokenizer.xDelete?,
            tokenize: tokenizer.xTokenize?,
        })
    }
}

/// One tokenizer instance with FTS5's default options. It keeps a folding buffer of its own,
/// so each thread has its own instance (see [`with_tokenizer`]).
struct Tokenizer {
    api: Unicode61,
    instance: *mut ffi::Fts5Tokenizer,
}

impl Tokenizer {
    fn new() -> Option<Tokenizer> {
        let api = unicode61()?;
        let mut instance = std::ptr::null_mut();
        // SAFETY: no arguments (FTS5's defaults, as the index uses); unicode61 ignores its
        // user data, so none is passed.
        let rc =
            unsafe { (api.create)(std::ptr::null_mut(), std::ptr::null_mut(), 0, &mut instance) };
        (rc == ffi::SQLITE_OK && !instance.is_null()).then_some(Tokenizer { api, instance })
    }

    /// Cuts `text` into `out` (cleared first).
    fn words(&mut self, text: &[u8], out: &mut Words) {
        out.clear();
        let len = c_int::try_from(text.len()).unwrap_or(c_int::MAX);
        // SAFETY: `text` is valid for `len` bytes for the whole call; `out` is the context
        // handed back to `collect`, which only appends to it, and outlives the call.
        unsafe {
            (self.api.tokenize)(
                self.instance,
                (out as *mut Words).cast(),
                ffi::FTS5_TOKENIZE_DOCUMENT,
                text.as_ptr().cast(),
                len,
                Some(collect),
            );
        }
    }
}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        // SAFETY: `instance` came from `create` and is deleted once.
        unsafe { (self.api.delete)(self.instance) }
    }
}

/// Receives one word from the tokenizer.
unsafe extern "C" fn collect(
    ctx: *mut c_void,
    _flags: c_int,
    token: *const c_char,
    len: c_int,
    _start: c_int,
    _end: c_int,
) -> c_int {
    // SAFETY: `ctx` is the `Words` passed by `Tokenizer::words`; `token` is valid for `len`
    // bytes during this call.
    let words = unsafe { &mut *ctx.cast::<Words>() };
    let len = usize::try_from(len).unwrap_or(0).min(MAX_WORD_BYTES);
    let token = if len == 0 {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(token.cast::<u8>(), len) }
    };
    words.push(token);
    ffi::SQLITE_OK
}

thread_local! {
    static TOKENIZER: RefCell<Option<Tokenizer>> = RefCell::new(Tokenizer::new());
    /// The words of the row being matched, reused from row to row.
    static ROW: RefCell<Words> = RefCell::new(Words::default());
}

/// Runs `f` with this thread's tokenizer; `None` when there is none.
fn with_tokenizer<T>(f: impl FnOnce(&mut Tokenizer) -> T) -> Option<T> {
    TOKENIZER.with(|t| t.borrow_mut().as_mut().map(f))
}

/// Words as the tokenizer gave them, folded, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Words {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Words {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn push(&mut self, word: &[u8]) {
        self.bytes.extend_from_slice(word);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// Whether `phrase` occurs here as consecutive words; with `prefix`, its last word need
    /// only begin a word here (FTS5's `"a b" *`).
    fn contains(&self, phrase: &Words, prefix: bool) -> bool {
        let n = phrase.len();
        if n == 0 || n > self.len() {
            return false;
        }
        (0..=self.len() - n).any(|at| {
            (0..n).all(|k| {
                let (word, wanted) = (self.get(at + k), phrase.get(k));
                if prefix && k == n - 1 {
                    word.starts_with(wanted)
                } else {
                    word == wanted
                }
            })
        })
    }
}

/// The words of `text`; empty when it holds none (or without a tokenizer).
pub fn words(text: &str) -> Words {
    let mut out = Words::default();
    with_tokenizer(|t| t.words(text.as_bytes(), &mut out));
    out
}

/// Whether `text` holds `phrase` as consecutive words (see [`Words::contains`]).
fn found_in(text: &[u8], phrase: &Words, prefix: bool) -> bool {
    ROW.with(|row| {
        let mut row = row.borrow_mut();
        with_tokenizer(|t| t.words(text, &mut row)).is_some() && row.contains(phrase, prefix)
    })
}

/// Registers `tandem_text(phrase, prefix, message, raw)` on a connection: 1 when the message
/// or the raw text holds the words of `phrase` in a row (the last one as a prefix when
/// `prefix` is 1), as FTS5 would match the phrase in either column.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "tandem_text",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            // The phrase is the same for every row of a statement: cut it once.
            let phrase: Arc<Words> = ctx.get_or_create_aux(0, |v| {
                Ok::<_, Error>(match v {
                    ValueRef::Text(t) => words(&String::from_utf8_lossy(t)),
                    _ => Words::default(),
                })
            })?;
            let prefix = matches!(ctx.get_raw(1), ValueRef::Integer(1));
            let hit = [2, 3].into_iter().any(|i| match ctx.get_raw(i) {
                ValueRef::Text(text) => found_in(text, &phrase, prefix),
                _ => false,
            });
            Ok(hit)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        let w = words(text);
        (0..w.len())
            .map(|i| String::from_utf8(w.get(i).to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn words_are_folded_runs_of_letters_and_digits() {
        assert_eq!(
            list("Failed password for ^DurTest"),
            ["failed", "password", "for", "durtest"]
        );
        assert_eq!(list("10.0.0.1:22"), ["10", "0", "0", "1", "22"]);
        assert_eq!(list("Café Ørsted ÅSE"), ["cafe", "ørsted", "ase"]);
        assert_eq!(list("(—) !! …"), Vec::<String>::new());
        assert_eq!(list("user_name"), ["user", "name"]);
    }

    #[test]
    fn phrases_match_consecutive_words_and_prefixes() {
        let doc = words("sshd: Failed password for alice from 10.0.0.1");
        assert!(doc.contains(&words("failed PASSWORD"), false));
        assert!(doc.contains(&words("(password)"), false));
        assert!(!doc.contains(&words("password failed"), false));
        assert!(!doc.contains(&words("pass"), false));
        assert!(doc.contains(&words("pass"), true));
        assert!(doc.contains(&words("for ali"), true));
        assert!(!doc.contains(&words("fo alice"), true));
        assert!(doc.contains(&words("10.0.0.1"), false));
        assert!(!doc.contains(&words("--"), false));
    }
}
