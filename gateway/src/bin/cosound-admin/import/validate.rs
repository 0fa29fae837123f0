//! Everything in an export is checked before anything is written: each problem is reported
//! with its file and line, and one is enough for nothing to be written.

use super::export::{Row, Table};
use chrono::{DateTime, Utc};
use cosound_rules::recommend::SongType;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong in the export.
#[derive(Debug)]
pub struct Problem {
    pub file: &'static str,
    /// 0 when it is about the file as a whole.
    pub line: u64,
    pub message: String,
}

impl Problem {
    pub fn new(file: &'static str, line: u64, message: impl Into<String>) -> Self {
        Problem {
            file,
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

/// An export that passed every check; ids are the original installation's.
pub struct Installation {
    pub players: Vec<Player>,
    pub codes: Vec<Code>,
    pub users: Vec<User>,
    pub songs: Vec<Song>,
    pub votes: Vec<Vote>,
}

pub struct Player {
    pub id: String,
    pub name: String,
}

pub struct Code {
    pub player: String,
    pub code: String,
}

pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    /// A bcrypt hash, as Supabase Auth keeps passwords.
    pub password_hash: Option<String>,
    /// The taste, normalised to unit length, in pgvector's text form.
    pub preference: Option<String>,
}

pub struct Song {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub path: PathBuf,
}

pub struct Vote {
    pub id: String,
    pub user: String,
    pub song: String,
    pub player: Option<String>,
    pub rating: i16,
    pub at: DateTime<Utc>,
}

pub const PLAYERS: &str = "players.csv";
pub const CODES: &str = "check_in_codes.csv";
pub const USERS: &str = "users.csv";
pub const SONGS: &str = "songs.csv";
pub const PREFERENCES: &str = "preferences.csv";
pub const VOTES: &str = "votes.csv";

/// Reads and checks the export in `dir`; `on_audio` is told of each audio file decoded.
pub fn validate(dir: &Path, on_audio: impl Fn(&Path)) -> Result<Installation, Vec<Problem>> {
    let mut problems = Vec::new();
    let players = Table::read(dir, PLAYERS, &["id", "name"], false, &mut problems);
    let codes = Table::read(dir, CODES, &["player_id", "code"], true, &mut problems);
    let users = Table::read(dir, USERS, &["id", "email"], false, &mut problems);
    let songs = Table::read(
        dir,
        SONGS,
        &["id", "title", "type", "path"],
        false,
        &mut problems,
    );
    let preferences = Table::read(
        dir,
        PREFERENCES,
        &["user_id", "vector"],
        true,
        &mut problems,
    );
    let votes = Table::read(
        dir,
        VOTES,
        &["id", "user_id", "song_id", "rating", "voted_at"],
        false,
        &mut problems,
    );
    let mut check = Checker {
        problems: &mut problems,
    };
    let players = check.players(&players);
    let player_ids: HashSet<&str> = players.iter().map(|p| p.id.as_str()).collect();
    let codes = check.codes(&codes, &player_ids);
    let tastes = check.preferences(&preferences);
    let mut users = check.users(&users);
    let user_ids: HashSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    for (user, (file, line, _)) in &tastes {
        if !user_ids.contains(user.as_str()) {
            check.problem(file, *line, format!("no user has the id {user:?}"));
        }
    }
    let songs = check.songs(&songs, dir, on_audio);
    let song_ids: HashSet<&str> = songs.iter().map(|s| s.id.as_str()).collect();
    let votes = check.votes(&votes, &user_ids, &song_ids, &player_ids);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut tastes: HashMap<String, String> = tastes
        .into_iter()
        .map(|(user, (_, _, vector))| (user, vector))
        .collect();
    for user in &mut users {
        user.preference = tastes.remove(&user.id);
    }
    Ok(Installation {
        players,
        codes,
        users,
        songs,
        votes,
    })
}

struct Checker<'p> {
    problems: &'p mut Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, file: &'static str, line: u64, message: impl Into<String>) {
        self.problems.push(Problem::new(file, line, message));
    }

    /// The row's value in a column the file is known to have, or a problem when it is blank.
    fn required<'a>(&mut self, table: &Table, row: &'a Row, column: &str) -> Option<&'a str> {
        let value = table.get(row, column);
        if value.is_none() {
            self.problem(table.file, row.line, format!("{column} is empty"));
        }
        value
    }

    /// The row's id, when it is given and not a repeat of an earlier row's.
    fn id<'a>(
        &mut self,
        table: &Table,
        row: &'a Row,
        seen: &mut HashMap<String, u64>,
    ) -> Option<&'a str> {
        let id = self.required(table, row, "id")?;
        if let Some(first) = seen.insert(id.to_string(), row.line) {
            self.problem(
                table.file,
                row.line,
                format!("the id {id:?} is already on line {first}"),
            );
            return None;
        }
        Some(id)
    }

    /// A value of 1 to `max` characters once trimmed, as the schema requires.
    fn text(&mut self, table: &Table, row: &Row, column: &str, max: usize) -> Option<String> {
        let value = self.required(table, row, column)?;
        let length = value.chars().count();
        if length > max {
            self.problem(
                table.file,
                row.line,
                format!("{column} has {length} characters; at most {max} fit"),
            );
            return None;
        }
        Some(value.to_string())
    }

    fn players(&mut self, table: &Table) -> Vec<Player> {
        let mut seen = HashMap::new();
        let mut players = Vec::new();
        for row in &table.rows {
            let id = self.id(table, row, &mut seen);
            let name = self.text(table, row, "name", 100);
            if let (Some(id), Some(name)) = (id, name) {
                players.push(Player {
                    id: id.to_string(),
                    name,
                });
            }
        }
        players
    }

    fn codes(&mut self, table: &Table, players: &HashSet<&str>) -> Vec<Code> {
        let mut seen = HashMap::new();
        let mut codes = Vec::new();
        for row in &table.rows {
            let player = self.reference(table, row, "player_id", players, "player");
            let Some(code) = self.required(table, row, "code") else {
                continue;
            };
            let well_formed = (6..=32).contains(&code.len())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                self.problem(
                    table.file,
                    row.line,
                    format!("the code {code:?} is not 6 to 32 capitals, digits or dashes"),
                );
            } else if let Some(first) = seen.insert(code.to_string(), row.line) {
                self.problem(
                    table.file,
                    row.line,
                    format!("the code {code:?} is already on line {first}"),
                );
            } else if let Some(player) = player {
                codes.push(Code {
                    player: player.to_string(),
                    code: code.to_string(),
                });
            }
        }
        codes
    }

    /// The row's reference to an id of `kind` in `known`; a blank one is absent.
    fn reference<'a>(
        &mut self,
        table: &Table,
        row: &'a Row,
        column: &str,
        known: &HashSet<&str>,
        kind: &str,
    ) -> Option<&'a str> {
        let id = table.get(row, column);
        match id {
            Some(id) if !known.contains(id) => {
                self.problem(table.file, row.line, format!("no {kind} has the id {id:?}"));
                None
            }
            _ => id,
        }
    }

    fn users(&mut self, table: &Table) -> Vec<User> {
        let mut seen = HashMap::new();
        let mut addresses = HashMap::new();
        let mut users = Vec::new();
        for row in &table.rows {
            let id = self.id(table, row, &mut seen);
            let email = self.required(table, row, "email").and_then(|email| {
                if !is_email(email) {
                    self.problem(
                        table.file,
                        row.line,
                        format!("{email:?} is not an e-mail address"),
                    );
                    return None;
                }
                match addresses.insert(email.to_lowercase(), row.line) {
                    Some(first) => {
                        self.problem(
                            table.file,
                            row.line,
                            format!("the address {email} is already on line {first}"),
                        );
                        None
                    }
                    None => Some(email),
                }
            });
            let display_name = match table.get(row, "display_name") {
                Some(_) => self.text(table, row, "display_name", 40).map(Some),
                None => Some(None),
            };
            let password_hash = table.get(row, "password_hash");
            if let Some(hash) = password_hash.filter(|hash| !is_bcrypt(hash)) {
                self.problem(
                    table.file,
                    row.line,
                    format!(
                        "password_hash {:?}… is not a bcrypt hash",
                        &hash[..hash.len().min(7)]
                    ),
                );
                continue;
            }
            if let (Some(id), Some(email), Some(display_name)) = (id, email, display_name) {
                users.push(User {
                    id: id.to_string(),
                    // Sign-in looks addresses up in lower case, as sign-up stores them.
                    email: email.to_lowercase(),
                    display_name,
                    password_hash: password_hash.map(str::to_string),
                    preference: None,
                });
            }
        }
        users
    }

    /// Each user's taste, with where it was given.
    fn preferences(&mut self, table: &Table) -> HashMap<String, (&'static str, u64, String)> {
        let mut tastes = HashMap::new();
        for row in &table.rows {
            let user = self.required(table, row, "user_id");
            let vector = self
                .required(table, row, "vector")
                .and_then(|text| match taste(text) {
                    Ok(vector) => Some(vector),
                    Err(message) => {
                        self.problem(table.file, row.line, message);
                        None
                    }
                });
            let (Some(user), Some(vector)) = (user, vector) else {
                continue;
            };
            if let Some((_, first, _)) =
                tastes.insert(user.to_string(), (table.file, row.line, vector))
            {
                self.problem(
                    table.file,
                    row.line,
                    format!("the user {user:?} already has a preference on line {first}"),
                );
            }
        }
        tastes
    }

    fn songs(&mut self, table: &Table, dir: &Path, on_audio: impl Fn(&Path)) -> Vec<Song> {
        let mut seen = HashMap::new();
        let mut songs = Vec::new();
        for row in &table.rows {
            let id = self.id(table, row, &mut seen);
            let title = self.text(table, row, "title", 200);
            let kind = self.required(table, row, "type").and_then(|kind| {
                if SongType::parse(kind).is_some() {
                    Some(kind)
                } else {
                    self.problem(
                        table.file,
                        row.line,
                        format!("the type {kind:?} is neither soundscape nor instrumental"),
                    );
                    None
                }
            });
            let path = self.required(table, row, "path").and_then(|path| {
                let file = dir.join(path);
                on_audio(&file);
                match cosound_ml::decode::decode_file(&file) {
                    Ok(_) => Some(file),
                    Err(_) if !file.is_file() => {
                        self.problem(
                            table.file,
                            row.line,
                            format!("the audio file {path} is missing"),
                        );
                        None
                    }
                    Err(error) => {
                        self.problem(
                            table.file,
                            row.line,
                            format!("the audio file {path} cannot be decoded: {error}"),
                        );
                        None
                    }
                }
            });
            if let (Some(id), Some(title), Some(kind), Some(path)) = (id, title, kind, path) {
                songs.push(Song {
                    id: id.to_string(),
                    title,
                    kind: kind.to_string(),
                    path,
                });
            }
        }
        songs
    }

    fn votes(
        &mut self,
        table: &Table,
        users: &HashSet<&str>,
        songs: &HashSet<&str>,
        players: &HashSet<&str>,
    ) -> Vec<Vote> {
        let mut seen = HashMap::new();
        let mut votes = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let id = self.id(table, row, &mut seen);
            let user = self
                .required(table, row, "user_id")
                .and(self.reference(table, row, "user_id", users, "user"));
            let song = self
                .required(table, row, "song_id")
                .and(self.reference(table, row, "song_id", songs, "song"));
            let player = self.reference(table, row, "player_id", players, "player");
            let player_ok = player.is_some() || table.get(row, "player_id").is_none();
            let rating =
                self.required(table, row, "rating")
                    .and_then(|rating| match rating_of(rating) {
                        Some(rating) => Some(rating),
                        None => {
                            self.problem(
                                table.file,
                                row.line,
                                format!(
                                    "the rating {rating:?} is neither 1 to 5 nor like or dislike"
                                ),
                            );
                            None
                        }
                    });
            let at = self.required(table, row, "voted_at").and_then(|at| {
                match DateTime::parse_from_rfc3339(at) {
                    Ok(at) => Some(at.to_utc()),
                    Err(error) => {
                        self.problem(
                            table.file,
                            row.line,
                            format!("voted_at {at:?} is not an RFC 3339 time: {error}"),
                        );
                        None
                    }
                }
            });
            if let (Some(id), Some(user), Some(song), true, Some(rating), Some(at)) =
                (id, user, song, player_ok, rating, at)
            {
                votes.push(Vote {
                    id: id.to_string(),
                    user: user.to_string(),
                    song: song.to_string(),
                    player: player.map(str::to_string),
                    rating,
                    at,
                });
            }
        }
        votes
    }
}

/// A rating of 1–5, or the earlier system's like and dislike: full-strength votes, so 5 and 1.
fn rating_of(text: &str) -> Option<i16> {
    match text {
        "like" => Some(5),
        "dislike" => Some(1),
        _ => text.parse().ok().filter(|r| (1..=5).contains(r)),
    }
}

/// Five finite numbers, not all zero, as `[a,b,c,d,e]`, returned scaled to unit length (the
/// length carries no taste, and Cosound stores unit tastes).
fn taste(text: &str) -> Result<String, String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| format!("the vector {text:?} is not written [a,b,c,d,e]"))?;
    let numbers = inner
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("the vector {text:?} holds something that is not a number"))?;
    if numbers.len() != 5 {
        return Err(format!(
            "the vector {text:?} has {} numbers; a taste has 5",
            numbers.len()
        ));
    }
    if numbers.iter().any(|x| !x.is_finite()) {
        return Err(format!(
            "the vector {text:?} holds a number that is not finite"
        ));
    }
    let length = numbers.iter().map(|x| x * x).sum::<f64>().sqrt();
    if length == 0.0 {
        return Err(format!("the vector {text:?} is zero: it points nowhere"));
    }
    let unit: Vec<String> = numbers.iter().map(|x| (x / length).to_string()).collect();
    Ok(format!("[{}]", unit.join(",")))
}

/// One `@` between a local part and a dotted domain, nothing blank, no spaces: what a sign-in
/// address needs, without guessing at what mail servers take.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
        && !text.chars().any(char::is_whitespace)
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost and 53 characters of salt and hash.
fn is_bcrypt(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() == 60
        && ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p))
        && bytes[4].is_ascii_digit()
        && bytes[5].is_ascii_digit()
        && bytes[6] == b'$'
        && bytes[7..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_the_earlier_votes() {
        assert_eq!(rating_of("4"), Some(4));
        assert_eq!(rating_of("like"), Some(5));
        assert_eq!(rating_of("dislike"), Some(1));
        assert_eq!(rating_of("7"), None);
        assert_eq!(rating_of("0"), None);
        assert_eq!(rating_of("3.5"), None);
    }

    #[test]
    fn tastes_are_five_finite_numbers_stored_at_unit_length() {
        assert_eq!(taste("[0,3,0,4,0]").unwrap(), "[0,0.6,0,0.8,0]");
        assert!(taste("[1,0,0,0]").unwrap_err().contains("has 4 numbers"));
        assert!(taste("[1,0,0,0,NaN]").unwrap_err().contains("not finite"));
        assert!(taste("[0,0,0,0,0]").unwrap_err().contains("zero"));
        assert!(taste("1,0,0,0,0").unwrap_err().contains("[a,b,c,d,e]"));
        assert!(taste("[a,0,0,0,0]").unwrap_err().contains("not a number"));
    }

    #[test]
    fn addresses_and_hashes() {
        assert!(is_email("ada@example.org"));
        assert!(!is_email("ada@example"));
        assert!(!is_email("ada example@example.org"));
        assert!(!is_email("@example.org"));
        assert!(!is_email("ada@@example.org"));
        assert!(is_bcrypt(
            "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
        ));
        assert!(!is_bcrypt("$1$abc"));
        assert!(!is_bcrypt("plain-text-password"));
    }
}
