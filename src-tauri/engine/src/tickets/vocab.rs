//! The words real TICKETS.md files use: ticket IDs, group words, status markers and field labels
//! (see `shared/design/tickets-md.md` §3–§6). Pure functions over strings.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::model::TicketStatus;

/// How sure we are that a token is a ticket ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdStrength {
    /// A bare number (`1.`, `**1.**`, `1|`): only a ticket when nothing better exists.
    Weak,
    /// A priority label used as the ticket's label (`## P1 — Make … atomic`).
    Priority,
    /// `T-001`, `C1`, `#12`, `Ticket 1.1`.
    Strong,
}

/// An ID found at the start of a heading, list item or table cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMatch {
    /// Byte range of the raw ID text (e.g. `T-001`, `Ticket 1.1`, `#12`) within the analysed string.
    pub range: Range<usize>,
    pub strength: IdStrength,
    /// Where the title starts (after the separator) within the analysed string.
    pub title_start: usize,
    /// The separator between ID and title as written (`": "`, `" — "`, `" "`), including spaces.
    pub separator: String,
    /// A status tag written before the ID (`[OPEN] TICKET-004`, `✅ T-001`): the tag's text range.
    pub tag: Option<Range<usize>>,
    /// A checkbox written before the ID (`[x] PH-001`, `[~] PH-002`): the range of the mark between
    /// the brackets (empty for `[]`).
    pub checkbox: Option<Range<usize>>,
    /// A priority label between a status tag and the ID (`[TODO][P1] T-F001-01`): its text range.
    pub priority: Option<Range<usize>>,
}

/// Status emoji that can stand before an ID (`### ✅ T-001 · …`). Colour dots (🔴 🟡 🟢) are left out:
/// before an ID they more often mean priority.
const LEAD_STATUS: &[&str] = &["✅", "☑", "✔", "⛔", "🚧", "⏳", "❌", "⬜", "⬛", "🔲"];

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("valid regex"))
}

/// Skips decoration before an ID: spaces, emoji and symbols, `**`, `__`, `[`, `` ` ``, `~~`.
pub fn skip_decoration(s: &str) -> usize {
    let mut i = 0;
    for (off, c) in s.char_indices() {
        if c.is_alphanumeric() || c == '#' {
            return off;
        }
        if c == '(' || c == '<' || c == '"' || c == '\'' {
            return off;
        }
        i = off + c.len_utf8();
    }
    i
}

/// Finds a ticket ID at the start of `s` (after decoration and an optional ticket word).
pub fn find_id(s: &str) -> Option<IdMatch> {
    static HYPH: OnceLock<Regex> = OnceLock::new();
    static SHORT: OnceLock<Regex> = OnceLock::new();
    static HASH: OnceLock<Regex> = OnceLock::new();
    static WORD: OnceLock<Regex> = OnceLock::new();
    static NUM: OnceLock<Regex> = OnceLock::new();
    let hyph = re(
        &HYPH,
        r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[A-Z]*\d+[A-Za-z]?'?",
    );
    let short = re(&SHORT, r"^[A-Z]{1,3}\d+(?:\.\d+)?[a-z]?");
    let hash = re(&HASH, r"^#\d+");
    let word = re(
        &WORD,
        r"^(?i:ticket|issue|task|story|bug|tkt|tarea|tarefa|tâche|aufgabe|тикет|задача|задание|チケット|티켓)\s*#?\s*\d+(?:\.\d+)*",
    );
    let num = re(&NUM, r"^\d+(?:\.\d+)*");

    static TAG: OnceLock<Regex> = OnceLock::new();
    let tag_re = re(&TAG, r"^([A-Z][A-Z _-]{1,20})\]\s*");
    static CHECK: OnceLock<Regex> = OnceLock::new();
    static UNIT: OnceLock<Regex> = OnceLock::new();
    let check_re = re(&CHECK, r"^\s*(?:\*\*)?\[([ xX>~/-]?)\]\s+");
    let unit_re = re(
        &UNIT,
        r"^\s*(?:(?i:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|seconds?|secs?)|[hdsm])\b",
    );
    let mut checkbox = None;
    let mut start = match check_re.captures(s) {
        Some(c) => {
            checkbox = Some(c.get(1).expect("group").range());
            let after = c.get(0).expect("match").end();
            after + skip_decoration(&s[after..])
        }
        None => skip_decoration(s),
    };
    let mut tag = None;
    if checkbox.is_none() {
        let lead = &s[..start];
        if let Some((at, e)) = LEAD_STATUS
            .iter()
            .find_map(|e| lead.find(e).map(|at| (at, *e)))
        {
            let mut end = at + e.len();
            if lead[end..].starts_with('\u{fe0f}') {
                end += '\u{fe0f}'.len_utf8();
            }
            tag = Some(at..end);
        }
    }
    let mut priority = None;
    if let Some(c) = tag_re.captures(&s[start..]) {
        let word = c.get(1).expect("group");
        if normalize_status(word.as_str()).is_some() {
            tag = Some(start + word.start()..start + word.end());
            let mut after = start + c.get(0).expect("match").end();
            // `[TODO][P1] T-F001-01`, `[DONE][P2][PRD-FR-001] T-F001-02`: labels between the status tag
            // and the ID (only when an ID follows them: `[OPEN] [BE-050] …` keeps its bracketed ID).
            static LABELS: OnceLock<Regex> = OnceLock::new();
            let labels = re(&LABELS, r"^(?:\[[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*\]\s*)+");
            if let Some(l) = labels.find(&s[after..]) {
                let next = after + l.end();
                let id_follows = find_id(&s[next..]).is_some_and(|m| {
                    m.strength == IdStrength::Strong && m.tag.is_none() && m.checkbox.is_none()
                });
                if id_follows {
                    static PRIO: OnceLock<Regex> = OnceLock::new();
                    let prio = re(&PRIO, r"\[(P[0-9])\]");
                    priority = prio
                        .captures(l.as_str())
                        .map(|p| p.get(1).expect("group").range())
                        .map(|r| after + r.start..after + r.end);
                    after = next;
                }
            }
            start = after + skip_decoration(&s[after..]);
        }
    }
    let rest = &s[start..];
    let (len, strength) = if let Some(m) = word.find(rest) {
        (m.end(), IdStrength::Strong)
    } else if let Some(m) = hyph.find(rest) {
        // `T001-T004` is a range of two IDs, not one ID (`E0-T1` is one: its parts differ in kind).
        if let Some((a, b)) = m.as_str().split_once('-') {
            fn letters(x: &str) -> Option<&str> {
                let l = x.trim_end_matches(|c: char| c.is_ascii_digit());
                (l.len() < x.len() && !l.is_empty() && l.chars().all(|c| c.is_ascii_uppercase()))
                    .then_some(l)
            }
            if !b.contains('-') && letters(a).is_some() && letters(a) == letters(b) {
                return None;
            }
        }
        (m.end(), IdStrength::Strong)
    } else if let Some(m) = short.find(rest) {
        let tok = &rest[..m.end()];
        let is_priority = tok.len() == 2 && tok.starts_with('P');
        (
            m.end(),
            if is_priority {
                IdStrength::Priority
            } else {
                IdStrength::Strong
            },
        )
    } else if let Some(m) = hash.find(rest) {
        (m.end(), IdStrength::Strong)
    } else if let Some(m) = num.find(rest) {
        // Only `N.`, `N|`, `N:` or `N)` count, and only weakly.
        let after = &rest[m.end()..];
        if !(after.starts_with(". ")
            || after.starts_with('|')
            || after.starts_with(".**")
            || after.starts_with(": ")
            || after.starts_with(") "))
        {
            return None;
        }
        (m.end(), IdStrength::Weak)
    } else {
        return None;
    };
    let id_end = start + len;
    // `T-60 minutes`, `T-1 day`: a countdown offset in prose, not an ID.
    if unit_re.is_match(&s[id_end..]) {
        return None;
    }
    // The ID must end at a word boundary.
    if let Some(c) = s[id_end..].chars().next() {
        if c.is_alphanumeric() || c == '_' {
            return None;
        }
        if c == '-'
            && s[id_end + 1..].starts_with(|c: char| c.is_alphanumeric())
            && strength != IdStrength::Strong
        {
            return None;
        }
    }
    // Closing decoration and the separator.
    let tail = &s[id_end..];
    let mut j = 0;
    for closer in ["]", "**", "__", "`", "~~"] {
        if tail[j..].starts_with(closer) {
            j += closer.len();
        }
    }
    let sep_start = j;
    let t = &tail[j..];
    let ws = t.len() - t.trim_start().len();
    let t2 = &t[ws..];
    let mut k = j + ws;
    for sep in [":", "—", "–", "-", "·", "|", ".", ")"] {
        if t2.starts_with(sep) {
            k += sep.len();
            break;
        }
    }
    let t3 = &tail[k..];
    k += t3.len() - t3.trim_start().len();
    // A ticket word followed directly by `-` (`TKT-01`) is not a word+number ID; the hyphen regex handles it.
    let separator = tail[sep_start..k].to_string();
    Some(IdMatch {
        range: start..id_end,
        strength,
        title_start: id_end + k,
        separator,
        tag,
        checkbox,
        priority,
    })
}

/// The normalised key of an ID: uppercase, no brackets, numbers without padding (`T-001` ≡ `T-1`).
pub fn id_key(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut prev_digit = false;
    while let Some(c) = chars.next() {
        if matches!(c, '[' | ']' | '*' | '`') {
            continue;
        }
        if c == '0' && !prev_digit && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            continue;
        }
        prev_digit = c.is_ascii_digit();
        out.extend(c.to_uppercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// IDs mentioned anywhere in a text (for dependency values and references).
pub fn ids_in(s: &str) -> Vec<(Range<usize>, String)> {
    static ANY: OnceLock<Regex> = OnceLock::new();
    let any = re(
        &ANY,
        r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[A-Z]*\d+[A-Za-z]?'?|\b[A-Z]{1,3}\d+(?:\.\d+)?\b|#\d+|\b\d+(?:\.\d+)?[a-z]?\b",
    );
    any.find_iter(s)
        .map(|m| (m.range(), m.as_str().to_string()))
        .collect()
}

/// A group (batch) word at the start of a heading, or `None`.
/// Returns the word as written and the group's number when the heading has one.
pub fn group_word(text: &str, anywhere_too: bool) -> Option<(String, Option<u32>)> {
    static START: OnceLock<Regex> = OnceLock::new();
    static ANYWHERE: OnceLock<Regex> = OnceLock::new();
    static MNUM: OnceLock<Regex> = OnceLock::new();
    let start = re(
        &START,
        r"^(?:\d+[.)]?\s*)?(?i)(batch|phase|fase|фаза|stage|étape|etape|milestone|sprint|wave|epic|эпик|iteration|release|stream|increment|阶段|批次|フェーズ|スプリント|단계|스프린트|마일스톤)(?:\s*[-#]?\s*([0-9]+))?\b",
    );
    let anywhere = re(
        &ANYWHERE,
        r"(?i)\b(batch|phase|fase|фаза|milestone|sprint|wave|epic|эпик|iteration|stage)\s*[-#]?\s*([0-9]+)\b|(阶段|批次|フェーズ|スプリント|단계|스프린트|마일스톤)",
    );
    let mnum = re(&MNUM, r"^(M|v|V)(\d+)(?:\.\d+)*(?:[^\w\-.]|$)");
    let s = strip_decoration(text);
    if let Some(c) = start.captures(s) {
        let num = c.get(2).and_then(|m| m.as_str().parse().ok());
        return Some((c[1].to_string(), num));
    }
    if let Some(c) = mnum.captures(s) {
        let word = if &c[1] == "M" { "M" } else { "v" };
        return Some((word.to_string(), c[2].parse().ok()));
    }
    if !anywhere_too {
        return None;
    }
    if let Some(c) = anywhere.captures(s) {
        if let Some(w) = c.get(1) {
            return Some((
                w.as_str().to_string(),
                c.get(2).and_then(|m| m.as_str().parse().ok()),
            ));
        }
        return Some((c[3].to_string(), None));
    }
    None
}

/// The first integer of a heading's leading token (`E0`, `1.`, `P1`), used as a batch number.
pub fn leading_number(text: &str) -> Option<u32> {
    static LEAD: OnceLock<Regex> = OnceLock::new();
    let lead = re(&LEAD, r"^(?:[A-Za-z]{1,3}-?)?(\d+)\b");
    lead.captures(strip_decoration(text))
        .and_then(|c| c[1].parse().ok())
}

/// The heading text without leading emoji, bold and brackets, and without trailing bold.
pub fn strip_decoration(text: &str) -> &str {
    let s = &text[skip_decoration(text)..];
    s.trim_end_matches(['*', '_', ' '])
}

/// Maps a status marker to a canonical status. Returns `None` for text that is not a status.
pub fn normalize_status(raw: &str) -> Option<TicketStatus> {
    use TicketStatus::*;
    let s = raw.to_lowercase();
    let s = s.trim_matches(|c: char| c == '*' || c == '`' || c == '_' || c.is_whitespace());
    if s.is_empty() {
        return None;
    }
    const TABLE: &[(&str, TicketStatus)] = &[
        ("not done", Todo),
        ("not started", Todo),
        ("not complete", Todo),
        ("incomplete", Todo),
        ("未完了", Todo),
        ("wontfix", Dropped),
        ("won't fix", Dropped),
        ("wont fix", Dropped),
        ("duplicate", Dropped),
        ("rejected", Dropped),
        ("dropped", Dropped),
        ("cancelled", Dropped),
        ("canceled", Dropped),
        ("obsolete", Dropped),
        ("superseded", Dropped),
        ("abandoned", Dropped),
        ("удалено", Dropped),
        ("明确不做", Dropped),
        ("❌", Dropped),
        ("blocked", Blocked),
        ("on hold", Blocked),
        ("⛔", Blocked),
        ("⬛", Blocked),
        ("阻塞", Blocked),
        ("⏳", Blocked),
        ("in review", Review),
        ("in-review", Review),
        ("needs_review", Review),
        ("needs review", Review),
        ("review", Review),
        ("리뷰", Review),
        ("レビュー", Review),
        ("in progress", Doing),
        ("in_progress", Doing),
        ("in-progress", Doing),
        ("doing", Doing),
        ("wip", Doing),
        ("started", Doing),
        ("partial", Doing),
        ("ongoing", Doing),
        ("in arbeit", Doing),
        ("en desarrollo", Doing),
        ("en curso", Doing),
        ("en progreso", Doing),
        ("em andamento", Doing),
        ("fazendo", Doing),
        ("en cours", Doing),
        ("進行中", Doing),
        ("进行中", Doing),
        ("진행", Doing),
        ("🚧", Doing),
        ("🟡", Doing),
        ("done", Done),
        ("complete", Done),
        ("closed", Done),
        ("resolved", Done),
        ("fixed", Done),
        ("merged", Done),
        ("shipped", Done),
        ("verified", Done),
        ("audited", Done),
        ("implemented", Done),
        ("terminé", Done),
        ("termine", Done),
        ("fait", Done),
        ("erledigt", Done),
        ("completado", Done),
        ("hecho", Done),
        ("hecha", Done),
        ("feito", Done),
        ("concluido", Done),
        ("concluído", Done),
        ("完了", Done),
        ("已完成", Done),
        ("完成", Done),
        ("완료", Done),
        ("выполнен", Done),
        ("готово", Done),
        ("✅", Done),
        ("✔", Done),
        ("☑", Done),
        ("🟢", Done),
        ("🟩", Done),
        ("todo", Todo),
        ("to do", Todo),
        ("to-do", Todo),
        ("open", Todo),
        ("backlog", Todo),
        ("ready", Todo),
        ("pending", Todo),
        ("pendiente", Todo),
        ("pendente", Todo),
        ("por hacer", Todo),
        ("a fazer", Todo),
        ("inbox", Todo),
        ("planned", Todo),
        ("deferred", Todo),
        ("offen", Todo),
        ("à faire", Todo),
        ("a faire", Todo),
        ("未着手", Todo),
        ("待办", Todo),
        ("오픈", Todo),
        ("대기", Todo),
        ("new", Todo),
        ("⬜", Todo),
        ("🔲", Todo),
        ("🟥", Todo),
        ("🔴", Todo),
    ];
    // One pass with an alternation of every word (earlier table entries win at a position), then the
    // matching entry that comes first in the table wins overall.
    static ALT: OnceLock<(Regex, HashMap<&'static str, usize>)> = OnceLock::new();
    let (alt, index) = ALT.get_or_init(|| {
        let pat = TABLE
            .iter()
            .map(|(k, _)| regex::escape(k))
            .collect::<Vec<_>>()
            .join("|");
        let index = TABLE
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, i))
            .collect();
        (Regex::new(&pat).expect("status words"), index)
    });
    alt.find_iter(s)
        .filter(|m| is_word_at(s, m.start(), m.end()))
        .filter_map(|m| index.get(m.as_str()).copied())
        .min()
        .map(|i| TABLE[i].1)
}

/// The match `hay[at..end]` is not glued to other letters (ASCII words only; CJK and emoji match anywhere).
fn is_word_at(hay: &str, at: usize, end: usize) -> bool {
    let needle = &hay[at..end];
    if !needle
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
    {
        return true;
    }
    let before_ok = hay[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    let after_ok = hay[end..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric() || (needle == "complete" && c == 'd'));
    before_ok && after_ok
}

/// A heading (or plain line) that names a status column (`# Open Tickets`, `## ✅ Done`, `🟩 DONE (Completado)`).
pub fn status_section(text: &str) -> Option<TicketStatus> {
    static SECTION: OnceLock<Regex> = OnceLock::new();
    let section = re(
        &SECTION,
        r"(?i)^(open|closed|done|completed?|in progress|in-progress|doing|to ?do|backlog|inbox|resolved|blocked|in review|review|offen|in arbeit|erledigt|完了|進行中|待办|terminé|pendiente|en desarrollo|en curso|por hacer|hecho|pendente|em andamento|feito|a fazer|not started|finished|active|current)\b\s*(tickets?|issues?|tasks?|items?|work)?\s*(\(.*\))?\s*[:\-—]?[\s\p{So}\u{2713}\u{2714}\u{FE0F}]*$",
    );
    let s = strip_decoration(text);
    if section.is_match(s) {
        return normalize_status(s).or(Some(TicketStatus::Doing));
    }
    None
}

/// What a field label means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Status,
    DependsOn,
    Files,
    Priority,
    Owner,
    Estimate,
    Labels,
    Acceptance,
    Other,
}

impl FieldKind {
    pub fn canonical_label(self) -> &'static str {
        match self {
            FieldKind::Status => "Status",
            FieldKind::DependsOn => "Depends on",
            FieldKind::Files => "Files",
            FieldKind::Priority => "Priority",
            FieldKind::Owner => "Owner",
            FieldKind::Estimate => "Estimate",
            FieldKind::Labels => "Labels",
            FieldKind::Acceptance => "Acceptance criteria",
            FieldKind::Other => "",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        Some(match s.to_lowercase().replace(['-', '_'], " ").as_str() {
            "status" => FieldKind::Status,
            "depends on" | "depends" | "dependencies" | "deps" => FieldKind::DependsOn,
            "files" | "file" => FieldKind::Files,
            "priority" => FieldKind::Priority,
            "owner" | "assignee" => FieldKind::Owner,
            "estimate" => FieldKind::Estimate,
            "labels" => FieldKind::Labels,
            _ => return None,
        })
    }
}

/// Maps a field label (any language, any case) to its kind; unknown labels are `Other`.
pub fn field_kind(label: &str) -> FieldKind {
    let l = label.trim().trim_end_matches(':').trim().to_lowercase();
    let l = l.as_str();
    let one_of = |xs: &[&str]| xs.contains(&l);
    if one_of(&[
        "status",
        "state",
        "statut",
        "estado",
        "stato",
        "статус",
        "状態",
        "ステータス",
        "상태",
        "状态",
        "zustand",
        "progress",
    ]) {
        FieldKind::Status
    } else if one_of(&[
        "depends on",
        "depends",
        "dependencies",
        "dependency",
        "blocked by",
        "deps",
        "pre-req",
        "prereq",
        "pre-reqs",
        "prerequisites",
        "requires",
        "依存",
        "依存関係",
        "依存チケット",
        "зависимости",
        "종속성",
        "의존성",
        "선행 티켓",
        "dépendances",
        "dépendance",
        "abhängigkeiten",
        "dependencias",
        "dependências",
        "dep",
    ]) {
        FieldKind::DependsOn
    } else if one_of(&[
        "files",
        "file",
        "affected files",
        "files changed",
        "files created/modified",
        "files to modify",
        "files to create",
        "key files",
        "ファイル",
        "対象ファイル",
        "변경할 파일 목록",
        "파일",
        "fichiers",
        "fichier",
        "fichiers à modifier",
        "arquivo",
        "arquivos",
        "archivos",
        "archivo",
        "where",
        "dateien",
        "файлы",
        "paths",
    ]) {
        FieldKind::Files
    } else if one_of(&[
        "priority",
        "prio",
        "severity",
        "severidade",
        "優先度",
        "우선순위",
        "priorité",
        "priorität",
        "приоритет",
        "prioridad",
        "prioridade",
        "severidad",
    ]) {
        FieldKind::Priority
    } else if one_of(&[
        "owner",
        "assignee",
        "assigned",
        "assigned to",
        "agent",
        "担当",
        "担当者",
        "agent recommandé",
        "responsable",
        "ответственный",
        "담당",
        "담당자",
        "responsável",
        "zuständig",
        "builder",
    ]) {
        FieldKind::Owner
    } else if one_of(&[
        "estimate",
        "effort",
        "story points",
        "points",
        "size",
        "工数",
        "推定工数",
        "見積もり",
        "difficulté",
        "esforço",
        "esfuerzo",
        "complexity",
        "aufwand",
        "оценка",
        "예상 시간",
        "time",
    ]) {
        FieldKind::Estimate
    } else if one_of(&[
        "labels",
        "label",
        "type",
        "component",
        "tags",
        "typ",
        "tipo",
        "種別",
        "타입",
    ]) {
        FieldKind::Labels
    } else if one_of(&[
        "acceptance criteria",
        "acceptance",
        "ac",
        "definition of done",
        "dod",
        "done when",
        "critères d'acceptation",
        "critères de réussite",
        "完了条件",
        "受け入れ条件",
        "готово",
        "완료 조건",
        "критерии приёмки",
        "criterios de aceptación",
        "critérios de aceitação",
        "akzeptanzkriterien",
        "acceptance criteria (ac)",
        "test",
        "how to test",
        "test points",
        "verification points",
        "验收标准",
        "验收条件",
        "测试验证点",
        "验证点",
        "测试点",
    ]) {
        FieldKind::Acceptance
    } else {
        FieldKind::Other
    }
}

/// A dependency value meaning "none".
pub fn is_empty_value(v: &str) -> bool {
    let t = v
        .trim()
        .trim_matches(|c: char| c == '*' || c == '`' || c == '_' || c == '.')
        .to_lowercase();
    let first = t
        .split([' ', '(', ','])
        .next()
        .unwrap_or("")
        .trim_end_matches(['.', ';', ':']);
    t.is_empty()
        || matches!(
            first,
            "—" | "-"
                | "–"
                | "none"
                | "nothing"
                | "なし"
                | "aucune"
                | "aucun"
                | "n/a"
                | "ninguno"
                | "ninguna"
                | "нет"
                | "없음"
                | "keine"
                | "nenhuma"
                | "nenhum"
                | "无"
        )
}

/// A Markdown heading naming a milestone (`# Milestone 2: Polish`, `## Meilenstein 3`, `# Hito 2`,
/// `# Веха 2`, `# マイルストーン 2`): its level, number and the title after the number.
pub fn milestone_heading(line: &str) -> Option<(u8, u32, String)> {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"^(#{1,6})\s+[^\p{L}\p{N}]*(?i:milestone|meilenstein|jalon|hito|marco|mijlpaal|веха|этап|マイルストーン|마일스톤|里程碑|m)\s*[-#]?\s*(\d{1,4})\b\s*(?:[:：—–\-·|.]\s*)?(.*)$",
        )
        .expect("regex")
    });
    let c = re.captures(line.trim_end())?;
    Some((
        c[1].len() as u8,
        c[2].parse().ok()?,
        c[3].trim().trim_end_matches('#').trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Option<(String, IdStrength, String)> {
        find_id(s).map(|m| {
            (
                s[m.range.clone()].to_string(),
                m.strength,
                s[m.title_start..].to_string(),
            )
        })
    }

    #[test]
    fn ids_at_heading_start() {
        use IdStrength::*;
        type Case<'a> = (&'a str, Option<(&'a str, IdStrength, &'a str)>);
        let cases: &[Case] = &[
            ("T-001: Scaffold", Some(("T-001", Strong, "Scaffold"))),
            ("TICKET-SEC-001: QR", Some(("TICKET-SEC-001", Strong, "QR"))),
            (
                "E0-T1 Monorepo scaffold",
                Some(("E0-T1", Strong, "Monorepo scaffold")),
            ),
            (
                "**P2-001: 予定管理基盤**",
                Some(("P2-001", Strong, "予定管理基盤**")),
            ),
            ("[ANK-603] Identity", Some(("ANK-603", Strong, "Identity"))),
            (
                "PH-002A Architecture",
                Some(("PH-002A", Strong, "Architecture")),
            ),
            ("T-031' old", Some(("T-031'", Strong, "old"))),
            ("C1: Add key", Some(("C1", Strong, "Add key"))),
            ("R1. Refactor", Some(("R1", Strong, "Refactor"))),
            ("Ticket 1.1 — Add", Some(("Ticket 1.1", Strong, "Add"))),
            ("Issue 2.1: User", Some(("Issue 2.1", Strong, "User"))),
            (
                "TKT-01 — IconButton",
                Some(("TKT-01", Strong, "IconButton")),
            ),
            ("#001 · Title", Some(("#001", Strong, "Title"))),
            ("P1 — Make quota", Some(("P1", Priority, "Make quota"))),
            (
                "1. Critical Security Issues",
                Some(("1", Weak, "Critical Security Issues")),
            ),
            ("Overview", None),
            ("Phase 1: Setup", None),
            ("TICKET-XXX — Titre", None),
        ];
        for (input, want) in cases {
            let got = id(input);
            let want = want.map(|(a, b, c)| (a.to_string(), b, c.to_string()));
            assert_eq!(got, want, "input {input:?}");
        }
    }

    #[test]
    fn keys_ignore_padding_and_case() {
        assert_eq!(id_key("T-001"), id_key("t-1"));
        assert_eq!(id_key("[BE-050]"), "BE-50");
        assert_eq!(id_key("Ticket 1.1"), "TICKET 1.1");
        assert_ne!(id_key("PH-002A"), id_key("PH-002"));
    }

    #[test]
    fn statuses() {
        use TicketStatus::*;
        let cases: &[(&str, Option<TicketStatus>)] = &[
            ("✅ Done", Some(Done)),
            ("⏳ Blocked — needs host", Some(Blocked)),
            ("🚧 In progress", Some(Doing)),
            ("NOT DONE", Some(Todo)),
            ("`DEFERRED_PHASE2`", Some(Todo)),
            ("COMPLETE", Some(Done)),
            ("Completed", Some(Done)),
            ("**in-review**", Some(Review)),
            ("🟡 PR #42 리뷰 대기 (2026-03-1x)", Some(Review)),
            ("✅ ВЫПОЛНЕН", Some(Done)),
            ("⬜️ 未着手", Some(Todo)),
            ("WONTFIX", Some(Dropped)),
            ("Designed, code change staged but not committed", None),
            ("opened yesterday", None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_status(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn groups() {
        let g = |s: &str| group_word(s, true);
        assert_eq!(
            g("Phase 1: Contract Foundation"),
            Some(("Phase".into(), Some(1)))
        );
        assert_eq!(
            g("🔥 **Phase 2: コア機能開発**"),
            Some(("Phase".into(), Some(2)))
        );
        assert_eq!(g("EPIC-000 Foundation"), Some(("EPIC".into(), Some(0))));
        assert_eq!(g("M1: CLI Walking Skeleton"), Some(("M".into(), Some(1))));
        assert_eq!(
            g("Tickets actifs — Phase 0"),
            Some(("Phase".into(), Some(0)))
        );
        assert_eq!(g("Infrastructure (Epic 1)"), Some(("Epic".into(), Some(1))));
        assert_eq!(g("Phased Development Plan"), None);
        assert_eq!(g("Backend Tickets"), None);
        assert_eq!(g("M1-001 Walking"), None);
        assert_eq!(group_word("T-5: Fix phase 2 rounding", false), None);
        assert_eq!(status_section("Open Tickets"), Some(TicketStatus::Todo));
        assert_eq!(status_section("✅ Done"), Some(TicketStatus::Done));
        assert_eq!(status_section("🔥 In Progress"), Some(TicketStatus::Doing));
        assert_eq!(status_section("Done criteria for the app"), None);
    }
}
