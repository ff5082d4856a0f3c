//! The shape of the code, checked from its text so it cannot drift: no two files of a crate
//! import each other in a loop (inside any service or inside `shared/`), and no production
//! function of the gateway runs over 120 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use netpulse_shared::test_util::workspace_root;

/// Longest production function allowed in the gateway, in lines.
const MAX_GATEWAY_FN_LINES: usize = 120;

/// The library crates whose files are checked: `shared/` and every service.
fn crates() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut crates = vec![root.join("shared/src")];
    let mut services: Vec<PathBuf> = std::fs::read_dir(root.join("services"))
        .expect("services/")
        .map(|e| e.expect("entry").path().join("src"))
        .filter(|src| src.join("lib.rs").is_file())
        .collect();
    services.sort();
    crates.extend(services);
    crates
}

/// Every `.rs` file of a crate's library (not its binaries), by module path: `lib.rs` is the
/// empty path, `a.rs` and `a/mod.rs` are `["a"]`, `a/b.rs` is `["a", "b"]`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "bin") {
                    folders.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("inside");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts == ["main"] {
                continue;
            }
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            found.insert(parts, path);
        }
    }
    found
}

/// The text of a file with comments, string and character literals blanked (their
/// newlines kept), so braces and paths in them are not read as code.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !ident_before(&chars, i) {
            // A raw string: r"..." or r#"..."#.
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.extend(chars[i..j.min(chars.len())].iter().map(|c| blank(*c)));
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&c) = chars.get(i + k) {
                        out.push(blank(c));
                    }
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{7f}'), else a lifetime.
            let end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&j| chars[j] == '\'')
            } else {
                (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end - i + 1));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The module paths a file names: `crate::a::b` anywhere, the branches of `use crate::{..}`,
/// and `super::` of a file at the top level of the file (inside an inline module such as
/// `mod tests`, `super` is the file itself).
fn references(code: &str, own: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        found.extend(paths_after(&code[at + "crate::".len()..], Vec::new()));
    }
    for line in code.lines() {
        let Some(rest) = line.strip_prefix("use super::") else {
            continue;
        };
        let parent = own[..own.len().saturating_sub(1)].to_vec();
        found.extend(paths_after(rest, parent));
    }
    found
}

/// The paths written at the start of `text` after `prefix`: `a::b::C` or `{a::B, c}`.
fn paths_after(text: &str, prefix: Vec<String>) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut end = inner.len();
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let mut out = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        let body = &inner[..end];
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.extend(paths_after(&body[start..i], prefix.clone()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.extend(paths_after(&body[start..], prefix));
        return out;
    }
    let mut path = prefix;
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        path.push(name.clone());
        rest = &rest[name.len()..];
        match rest.strip_prefix("::") {
            Some(after) if after.starts_with('{') => return paths_after(after, path),
            Some(after) => rest = after,
            None => break,
        }
    }
    vec![path]
}

/// True when `code` uses `name::` as a path of its own (not `other::name::`).
fn names_module(code: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = &code[..at];
        !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

/// The file a path lands in: its longest prefix that is a file of the crate.
fn file_of<'a>(
    path: &[String],
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
) -> Option<&'a Vec<String>> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Strongly connected groups of more than one file (Tarjan), as file paths.
fn loops(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        on_stack: BTreeSet<&'g Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'g>(s: &mut State<'g>, node: &'g Vec<String>) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        for next in s.graph.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(s, next);
                let low = s.low[next].min(s.low[node]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.index[next].min(s.low[node]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut group = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                group.push(top.clone());
                if top == node {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_two_files_of_a_crate_import_each_other_in_a_loop() {
    let mut problems = Vec::new();
    for src in crates() {
        let modules = modules(&src);
        let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (module, path) in &modules {
            let code = code_only(&std::fs::read_to_string(path).expect("read"));
            let targets = graph.entry(module.clone()).or_default();
            // A file's own submodules, named by their short path (`on_demand::routes`).
            for (child, _) in modules.range(module.clone()..) {
                let Some(name) = child
                    .strip_prefix(module.as_slice())
                    .filter(|r| r.len() == 1)
                else {
                    continue;
                };
                if names_module(&code, &name[0]) {
                    targets.insert(child.clone());
                }
            }
            for reference in references(&code, module) {
                if let Some(target) = file_of(&reference, &modules) {
                    if target != module {
                        targets.insert(target.clone());
                    }
                }
            }
        }
        for group in loops(&graph) {
            let files: Vec<String> = group
                .iter()
                .map(|m| {
                    modules[m]
                        .strip_prefix(workspace_root())
                        .unwrap_or(&modules[m])
                        .display()
                        .to_string()
                })
                .collect();
            problems.push(files.join(" <-> "));
        }
    }
    assert!(
        problems.is_empty(),
        "import loops:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_loop_finder_finds_loops_and_reads_grouped_imports() {
    let code = code_only(
        "use crate::{a::B, c::{D, e::F}};\n// crate::z in a comment\nlet s = \"crate::y\";\nuse super::g;\n",
    );
    let own = vec!["x".to_owned(), "h".to_owned()];
    let mut found = references(&code, &own);
    found.sort();
    let want: Vec<Vec<String>> = [
        vec!["a", "B"],
        vec!["c", "D"],
        vec!["c", "e", "F"],
        vec!["x", "g"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    assert_eq!(found, want);
    let node = |n: &str| vec![n.to_owned()];
    let graph = BTreeMap::from([
        (node("a"), BTreeSet::from([node("b")])),
        (node("b"), BTreeSet::from([node("c")])),
        (node("c"), BTreeSet::from([node("a")])),
        (node("d"), BTreeSet::from([node("a")])),
    ]);
    assert_eq!(loops(&graph), [vec![node("a"), node("b"), node("c")]]);
}

/// Each function of `code` (outside `#[cfg(test)]` modules): its name and its length in
/// lines, from its `fn` line to its closing brace.
fn function_lengths(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut depth = 0usize;
    // Depth at which a test module's body ends, while inside one.
    let mut test_until: Option<usize> = None;
    let mut test_next = false;
    // Open functions: name, first line, depth of their body.
    let mut open: Vec<(String, usize, usize)> = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    // Square brackets open: a `;` in them (`[u8; 4]`) ends nothing.
    let mut brackets = 0usize;
    for (n, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            let next = lines.get(n + 1).map_or("", |l| l.trim_start());
            test_next = next.starts_with("mod ") || next.starts_with("pub mod ");
        }
        if test_until.is_none() {
            if let Some(at) = trimmed.find("fn ").filter(|at| {
                *at == 0 || trimmed[..*at].ends_with(' ') || trimmed[..*at].ends_with('(')
            }) {
                let name: String = trimmed[at + 3..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    pending = Some((name, n));
                }
            }
        }
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if test_next && test_until.is_none() {
                        test_until = Some(depth - 1);
                        test_next = false;
                    } else if let Some((name, first)) = pending.take() {
                        open.push((name, first, depth));
                    }
                }
                '[' => brackets += 1,
                ']' => brackets = brackets.saturating_sub(1),
                ';' if pending.is_some() && brackets == 0 => {
                    // A declaration without a body (a trait's).
                    pending = None;
                }
                '}' => {
                    if open.last().is_some_and(|o| o.2 == depth) {
                        let (name, first, _) = open.pop().expect("open");
                        out.push((name, n - first + 1));
                    }
                    depth = depth.saturating_sub(1);
                    if test_until == Some(depth) {
                        test_until = None;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn no_production_function_of_the_gateway_is_longer_than_120_lines() {
    let src = workspace_root().join("services/gateway/src");
    let mut long = Vec::new();
    let mut files: Vec<PathBuf> = modules(&src).into_values().collect();
    files.push(src.join("main.rs"));
    for path in files {
        let code = code_only(&std::fs::read_to_string(&path).expect("read"));
        for (name, lines) in function_lengths(&code) {
            if lines > MAX_GATEWAY_FN_LINES {
                let file = path.strip_prefix(workspace_root()).unwrap_or(&path);
                long.push(format!("{}: {name} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_GATEWAY_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// Longest file of the gateway's live stream and metrics, lines.
const MAX_LIVE_OR_METRICS_FILE_LINES: usize = 400;

#[test]
fn the_live_stream_and_the_metrics_are_folders_of_files_under_400_lines() {
    let src = workspace_root().join("services/gateway/src");
    for single in ["live.rs", "metrics.rs"] {
        assert!(
            !src.join(single).exists(),
            "{single} is a folder of modules now"
        );
    }
    for folder in ["live", "metrics"] {
        let files: Vec<PathBuf> = std::fs::read_dir(src.join(folder))
            .expect("folder")
            .map(|entry| entry.expect("entry").path())
            .collect();
        assert!(files.len() > 1, "{folder}/ holds its modules");
        for path in files {
            let lines = std::fs::read_to_string(&path)
                .expect("read")
                .lines()
                .count();
            assert!(
                lines <= MAX_LIVE_OR_METRICS_FILE_LINES,
                "{} has {lines} lines",
                path.display()
            );
        }
    }
}

#[test]
fn function_lengths_count_from_fn_to_its_brace_and_skip_tests() {
    let code = code_only(
        "fn short() {\n    let s = \"}\";\n}\n\nimpl X {\n    fn declared(&self);\n    pub fn two(\n        a: [u8; 2],\n    ) -> u8 {\n        if a > 1 { 1 } else { 2 }\n    }\n}\n#[cfg(test)]\nmod tests {\n    fn ignored() {\n    }\n}\n",
    );
    assert_eq!(
        function_lengths(&code),
        [("short".to_owned(), 3), ("two".to_owned(), 5)]
    );
}
