//! A stack's database finds and loads the `cosound` extension in the stack's own directory,
//! so another stack's build, or `cargo pgrx test`'s install into the shared PostgreSQL, never
//! replaces the library a running stack loaded.

use cosound_e2e::{stack_dir, superuser};
use std::path::Path;

#[tokio::test]
async fn the_database_takes_the_extension_from_the_stack_dir_only() {
    let db = superuser().await;
    let stack = stack_dir();
    for (setting, install) in [
        ("extension_control_path", "$system"),
        ("dynamic_library_path", "$libdir"),
    ] {
        let value: String = db
            .query_one(&format!("show {setting}"), &[])
            .await
            .unwrap()
            .get(0);
        // The stack's folder first; the install's after it, for pgvector and PostgreSQL's own.
        let (own, rest) = value.split_once(':').unwrap_or((&value, ""));
        assert!(Path::new(own).starts_with(&stack), "{setting} = {value}");
        assert_eq!(rest, install, "{setting} = {value}");
    }
    let control: String = db
        .query_one("show extension_control_path", &[])
        .await
        .unwrap()
        .get(0);
    let control = Path::new(control.split(':').next().unwrap()).join("extension");
    assert!(control.join("cosound.control").is_file(), "{control:?}");

    // What a backend maps once it called into the extension.
    let pid: i32 = db
        .query_one(
            r#"select pg_backend_pid(), extensions.sign_jwt(
                 '{"sub": "s", "role": "anon", "exp": 1}', repeat('x', 32))"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let libraries: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.ends_with("/cosound.so"))
        .collect();
    assert!(!libraries.is_empty(), "no cosound.so mapped");
    for library in libraries {
        assert!(Path::new(library).starts_with(&stack), "{library}");
    }
}
