//! The TICKETS.md codec: a lossless document model over real-world ticket files, edits in the file's own
//! dialect, and two-way sync with the file on disk.
//!
//! * [`Document::parse`] cuts the text into line spans ([`source`]) and recognises batches and tickets in the
//!   dialects real files use ([`recognize`], following `shared/design/tickets-md.md` Part C). With no edits,
//!   [`Document::serialize`] returns the input byte for byte: CRLF, BOM, trailing spaces, missing final
//!   newline and code fences included.
//! * [`Edit`]s ([`edit`]) are minimal line edits written with the file's own status mechanism, field syntax,
//!   ID scheme and group word.
//! * [`sync`] watches the file, re-reads it on external change and refuses stale or unsafe writes.
//!
//! Batch numbers: the number in the group heading (`## Phase 3: …` → 3) when it has one, else the batch's
//! 1-based ordinal among the file's batches.

pub mod edit;
pub mod recognize;
pub mod source;
pub mod sync;
pub mod vocab;

use std::ops::Range;

use serde::Serialize;

use crate::model::TicketStatus;
pub use edit::{Edit, EditError};
pub use source::Source;
pub use vocab::FieldKind;

/// Files larger than this are refused. The largest real TICKETS.md seen is 132 000 characters
/// (about 400 KB; the median is 6.4 KB): 4 MB is ten times that, and the slowest shape parses at
/// this size in under a second (`tickets_bench`, release build).
pub const MAX_FILE_BYTES: usize = 4_000_000;

/// Why a file could not be read as a TICKETS.md.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not UTF-8 text: invalid byte at offset {0}")]
    InvalidUtf8(usize),
    #[error("binary file: NUL byte at offset {0}")]
    Binary(usize),
    #[error("{}", crate::files::too_large("TICKETS.md file", *.0 as u64, MAX_FILE_BYTES as u64))]
    TooLarge(usize),
}

/// How a ticket is written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// `### T-001: Title` and the body up to the next heading of the same or a higher level.
    Heading,
    /// One row of a ticket table.
    TableRow,
    /// A top-level list item starting with an ID (`- [ANK-603] …`).
    ListItem,
    /// A checklist item in a file with no other tickets (`- [] github setup`).
    Checkbox,
    /// A bold paragraph `**4. Title**` in a file with no other tickets.
    BoldParagraph,
}

/// How a batch is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    /// A heading with a group word (Phase, Milestone, Sprint, Epic, Wave, Batch, Фаза, …).
    Keyword,
    /// A heading without a group word that directly contains tickets (`## Backend Tickets`).
    Container,
    /// A top-level checklist item whose nested items are the tickets.
    Checklist,
}

/// Where a ticket's status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// A `Status:` field.
    Field,
    /// A marker in the heading (`✅ COMPLETE`, `— CLOSED`, `[OPEN]`, `~~…~~`).
    Heading,
    /// A status cell of a table row (the ticket's own row or an overview row).
    Table,
    /// The ticket's own checkbox (`- [x] …`).
    Checkbox,
    /// The status section or divider the ticket sits in (`# Closed Tickets`, `🟩 DONE`).
    Section,
    /// No marker: derived from acceptance checkboxes (all checked → done, some → doing), else todo.
    Derived,
}

/// One place in the text where a ticket's status is written; edits rewrite every one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMark {
    pub source: StatusSource,
    pub line: usize,
    /// Byte range in the file text (empty for sections).
    pub range: Range<usize>,
    pub raw: String,
    pub status: Option<TicketStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The label as written (`Depends on`, `Statut`, `依存`).
    pub key: String,
    pub kind: FieldKind,
    pub value: String,
    /// 0-based line.
    pub line: usize,
    #[serde(skip)]
    pub value_range: Range<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkbox {
    pub line: usize,
    /// The mark between the brackets as written: `" "`, `"x"`, `"X"`, `"-"`, `"~"` or `""`.
    pub mark: String,
    pub checked: bool,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    /// The ID exactly as written (`T-001`, `Ticket 1.1`, `[BE-050]` → `BE-050`), if any.
    pub id: Option<String>,
    /// The matching key: the normalised ID (`T-1`), or `line:<n>` for tickets without an ID.
    pub key: String,
    pub title: String,
    pub kind: TicketKind,
    /// Heading level, or list indentation for list items.
    pub level: u8,
    /// 0-based line range of the ticket's span, including its trailing blank/`---` separator run.
    pub span: Range<usize>,
    /// 0-based line range of the ticket's content (no trailing separators).
    pub lines: Range<usize>,
    /// Index into [`Document::batches`].
    pub batch: Option<usize>,
    pub status: TicketStatus,
    /// An explicit marker was found but does not map to a known status.
    pub status_unknown: bool,
    pub status_source: StatusSource,
    pub status_raw: Option<String>,
    pub status_marks: Vec<StatusMark>,
    pub fields: Vec<Field>,
    pub checkboxes: Vec<Checkbox>,
    pub depends_on: Vec<String>,
    pub files: Vec<String>,
    pub priority: Option<String>,
    pub owner: Option<String>,
    /// Recognised from a weak signal (no ID, priority label, bare number, fallback pattern).
    pub weak: bool,
    /// Byte range of the ID in the file text.
    pub id_range: Option<Range<usize>>,
    /// Byte range of the title in the file text.
    pub title_range: Range<usize>,
    /// Table rows elsewhere that mirror this ticket (0-based lines).
    pub views: Vec<usize>,
    /// Separator between ID and title as written (`": "`, `" — "`).
    pub separator: String,
}

#[derive(Debug, Clone)]
pub struct Batch {
    /// The number in the heading, else the 1-based ordinal.
    pub number: u32,
    pub heading_number: Option<u32>,
    pub ordinal: u32,
    pub title: String,
    /// The group word as written (`Phase`, `Milestone`, `EPIC`, `M`), if any.
    pub word: Option<String>,
    pub kind: BatchKind,
    pub level: u8,
    /// 0-based line of the batch heading.
    pub heading_line: usize,
    /// 0-based line range the batch covers.
    pub scope: Range<usize>,
    pub tickets: Vec<usize>,
    /// Byte range of the batch's name (after the word, number and separator) in the file text.
    pub title_range: Range<usize>,
}

/// Gives each ticket without an ID a key made from its title, `title:write-the-parser` (the
/// second of two same titles `title:write-the-parser#2`, in file order): unlike a line number it
/// survives moves and edits elsewhere in the file.
fn title_keys(tickets: &mut [Ticket]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for t in tickets.iter_mut().filter(|t| t.id.is_none()) {
        let mut slug = String::new();
        for c in t.title.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-').to_string();
        let slug = if slug.is_empty() {
            "untitled".to_string()
        } else {
            slug
        };
        let n = seen.entry(slug.clone()).or_insert(0);
        *n += 1;
        t.key = if *n == 1 {
            format!("title:{slug}")
        } else {
            format!("title:{slug}#{n}")
        };
    }
}

/// A milestone of batches (see [`Document::milestones`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    /// The number in its heading.
    pub number: u32,
    pub title: String,
    /// 0-based line of its heading.
    pub heading_line: usize,
    /// Indices into [`Document::batches`], in file order.
    pub batches: Vec<usize>,
}

/// A parsed TICKETS.md: the exact text plus what was recognised in it.
#[derive(Debug, Clone)]
pub struct Document {
    pub source: Source,
    pub batches: Vec<Batch>,
    pub tickets: Vec<Ticket>,
    pub warnings: Vec<String>,
}

impl Document {
    /// Parses text. Never fails and never panics; what is not recognised is kept verbatim.
    pub fn parse(text: &str) -> Document {
        let source = Source::new(text.to_string());
        let (batches, mut tickets, warnings) = recognize::recognize(&source);
        title_keys(&mut tickets);
        Document {
            source,
            batches,
            tickets,
            warnings,
        }
    }

    /// Parses raw file bytes, refusing binary, non-UTF-8 and oversized input.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Document, ParseError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ParseError::TooLarge(bytes.len()));
        }
        if let Some(p) = bytes.iter().position(|&b| b == 0) {
            return Err(ParseError::Binary(p));
        }
        let text =
            std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8(e.valid_up_to()))?;
        Ok(Document::parse(text))
    }

    /// The file rebuilt from its spans; equal to the input when no edit was made.
    pub fn serialize(&self) -> String {
        self.source.serialize()
    }

    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// Tickets whose key matches `id` (raw or normalised); else those titled `id` exactly
    /// (case-insensitive).
    pub fn find(&self, id: &str) -> Vec<usize> {
        let key = vocab::id_key(id);
        let by_key: Vec<usize> = self
            .tickets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.key == key || t.key == id)
            .map(|(i, _)| i)
            .collect();
        if !by_key.is_empty() {
            return by_key;
        }
        let title = id.trim();
        self.tickets
            .iter()
            .enumerate()
            .filter(|(_, t)| !title.is_empty() && t.title.trim().eq_ignore_ascii_case(title))
            .map(|(i, _)| i)
            .collect()
    }

    /// The milestones that group the batches (rule 9 of the pipeline contract): headings such as
    /// `# Milestone 2: Polish` above `## Batch` headings. Each holds the batches (indices into
    /// [`Document::batches`]) from its heading to the next milestone heading; batches above the
    /// first heading make an unnamed milestone before it. Empty when that gives fewer than two
    /// milestones (one milestone changes nothing). A heading that is itself a batch is not a
    /// milestone.
    pub fn milestones(&self) -> Vec<Milestone> {
        let batch_lines: std::collections::BTreeSet<usize> =
            self.batches.iter().map(|b| b.heading_line).collect();
        let mut heads: Vec<(usize, u8, u32, String)> = Vec::new();
        for i in 0..self.source.len() {
            if self.source.is_opaque(i) || batch_lines.contains(&i) {
                continue;
            }
            if let Some((level, number, title)) = vocab::milestone_heading(self.source.line(i)) {
                heads.push((i, level, number, title));
            }
        }
        // Only headings above the batches they hold count (a `###` "Milestone" inside a batch is
        // prose).
        heads.retain(|(line, level, _, _)| {
            self.batches
                .iter()
                .find(|b| b.heading_line > *line)
                .is_some_and(|b| b.level > *level && b.kind != BatchKind::Checklist)
        });
        let Some(first) = heads.first() else {
            return Vec::new();
        };
        // Batches above the first milestone heading make the milestone before it (unnamed).
        let mut out: Vec<Milestone> = Vec::new();
        if self.batches.iter().any(|b| b.heading_line < first.0) {
            out.push(Milestone {
                number: first.2.saturating_sub(1).max(1),
                title: String::new(),
                heading_line: 0,
                batches: Vec::new(),
            });
        }
        out.extend(heads.iter().map(|(line, _, number, title)| Milestone {
            number: *number,
            title: title.clone(),
            heading_line: *line,
            batches: Vec::new(),
        }));
        for (bi, b) in self.batches.iter().enumerate() {
            let m = out
                .iter()
                .rposition(|m| m.heading_line < b.heading_line)
                .unwrap_or(0);
            out[m].batches.push(bi);
        }
        out.retain(|m| !m.batches.is_empty());
        if out.len() < 2 {
            return Vec::new();
        }
        out
    }

    /// The batch with this number (first match), see the module docs.
    pub fn batch_by_number(&self, n: u32) -> Option<usize> {
        self.batches.iter().position(|b| b.number == n)
    }

    pub fn has_tickets(&self) -> bool {
        !self.tickets.is_empty()
    }

    /// The JSON-ready summary printed by `leap tickets parse --json`.
    pub fn summary(&self) -> Summary {
        Summary {
            batches: self
                .batches
                .iter()
                .map(|b| BatchSummary {
                    number: b.number,
                    title: b.title.clone(),
                    word: b.word.clone(),
                    kind: b.kind,
                    line: b.heading_line + 1,
                    tickets: b
                        .tickets
                        .iter()
                        .map(|&t| self.tickets[t].display_id())
                        .collect(),
                })
                .collect(),
            tickets: self
                .tickets
                .iter()
                .map(|t| TicketSummary {
                    id: t.display_id(),
                    key: t.key.clone(),
                    title: t.title.clone(),
                    status: if t.status_unknown {
                        "unknown".to_string()
                    } else {
                        t.status.as_str().to_string()
                    },
                    status_source: t.status_source,
                    status_derived: t.status_source == StatusSource::Derived,
                    status_raw: t.status_raw.clone(),
                    batch: t.batch.map(|b| self.batches[b].number),
                    kind: t.kind,
                    weak: t.weak,
                    line_start: t.lines.start + 1,
                    line_end: t.lines.end.max(t.lines.start + 1),
                    depends_on: t.depends_on.clone(),
                    files: t.files.clone(),
                    priority: t.priority.clone(),
                    owner: t.owner.clone(),
                    fields: t.fields.clone(),
                    checkboxes: t
                        .checkboxes
                        .iter()
                        .map(|c| (c.checked, c.text.clone()))
                        .collect(),
                    body: self.body(t),
                })
                .collect(),
            warnings: self.warnings.clone(),
        }
    }

    /// The ticket's text after its title line (heading tickets) or its nested lines (list items), trimmed.
    pub fn body(&self, t: &Ticket) -> String {
        let first = (t.lines.start + 1).min(t.lines.end);
        self.source
            .slice_lines(first..t.lines.end)
            .trim()
            .to_string()
    }
}

impl Ticket {
    /// The ID as written, or the key for tickets without one.
    pub fn display_id(&self) -> String {
        self.id.clone().unwrap_or_else(|| self.key.clone())
    }
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub batches: Vec<BatchSummary>,
    pub tickets: Vec<TicketSummary>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BatchSummary {
    pub number: u32,
    pub title: String,
    pub word: Option<String>,
    pub kind: BatchKind,
    /// 1-based line of the batch heading.
    pub line: usize,
    pub tickets: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TicketSummary {
    pub id: String,
    pub key: String,
    pub title: String,
    pub status: String,
    pub status_source: StatusSource,
    pub status_derived: bool,
    pub status_raw: Option<String>,
    pub batch: Option<u32>,
    pub kind: TicketKind,
    pub weak: bool,
    /// 1-based, inclusive.
    pub line_start: usize,
    pub line_end: usize,
    pub depends_on: Vec<String>,
    pub files: Vec<String>,
    pub priority: Option<String>,
    pub owner: Option<String>,
    pub fields: Vec<Field>,
    pub checkboxes: Vec<(bool, String)>,
    pub body: String,
}
