//! Reads the contracts' committed outputs so Rust never retypes them:
//!
//! - `contracts/build/<Name>.compiled.json` (`{ hex, hash, tolkVersion }`): the code BOC is
//!   decoded and its representation hash checked against `hash` here, then written to
//!   `$OUT_DIR/<Name>.boc` for `include_bytes!`, with the hash as a constant;
//! - `contracts/contracts/*/errors.tolk`: every `const NAME = NUMBER` with its `///` doc
//!   comment becomes a Rust constant in `exit_codes::<folder>` and a row of `exit_codes::ALL`.
//!
//! A missing or inconsistent compiled file fails the build: run `npm run build` in contracts/.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// The compiled contracts (names as in contracts/scripts/contracts.ts).
const CONTRACTS: &[&str] = &["JettonMinter", "JettonWallet", "Escrow", "PayoutVault"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let contracts = manifest.join("..").join("contracts");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it"));

    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rerun-if-changed={}",
        contracts.join("build").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        contracts.join("contracts").display()
    );

    let code = embed_code(&contracts.join("build"), &out);
    fs::write(out.join("code.rs"), code).expect("write code.rs");

    let codes = exit_codes(&contracts.join("contracts"));
    fs::write(out.join("exit_codes.rs"), codes).expect("write exit_codes.rs");
}

fn embed_code(dir: &Path, out: &Path) -> String {
    let mut src = String::new();
    for name in CONTRACTS {
        let file = dir.join(format!("{name}.compiled.json"));
        println!("cargo:rerun-if-changed={}", file.display());
        let text = fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. The ABI crate embeds the compiled contracts: run `npm run build` in \
                 contracts/ and commit build/*.compiled.json",
                file.display()
            )
        });
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        let field = |key: &str| -> String {
            json.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{}: no string field {key:?}", file.display()))
                .to_owned()
        };
        let hex_boc = field("hex");
        let hash = field("hash").to_lowercase();
        let tolk = json
            .get("tolkVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();

        let bytes =
            hex::decode(&hex_boc).unwrap_or_else(|e| panic!("{}: bad hex: {e}", file.display()));
        let cell = tycho_types::boc::Boc::decode(&bytes)
            .unwrap_or_else(|e| panic!("{}: bad BOC: {e}", file.display()));
        let actual = hex::encode(cell.repr_hash().0);
        assert_eq!(
            actual,
            hash,
            "{}: the code's hash is {actual}, the file says {hash}",
            file.display()
        );
        fs::write(out.join(format!("{name}.boc")), &bytes).expect("write boc");

        let upper = screaming(name);
        let hash_bytes: Vec<String> = cell
            .repr_hash()
            .0
            .iter()
            .map(|b| format!("0x{b:02x}"))
            .collect();
        writeln!(
            src,
            "/// Code BOC of `{name}` (contracts/build/{name}.compiled.json).\n\
             const {upper}_BOC: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.boc\"));\n\
             /// Representation hash of the `{name}` code: `{hash}`.\n\
             pub const {upper}_CODE_HASH: [u8; 32] = [{}];\n\
             /// Tolk compiler version that built `{name}`.\n\
             pub const {upper}_TOLK_VERSION: &str = {tolk:?};\n",
            hash_bytes.join(", ")
        )
        .expect("write to string");
    }
    src
}

/// `JettonMinter` -> `JETTON_MINTER`.
fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

struct Code {
    name: String,
    value: i64,
    doc: Vec<String>,
}

fn exit_codes(dir: &Path) -> String {
    let mut folders: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("errors.tolk").is_file())
        .collect();
    folders.sort();

    let mut modules = String::new();
    let mut table = String::new();
    for folder in folders {
        let module = folder
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 folder name")
            .replace('-', "_");
        let file = folder.join("errors.tolk");
        println!("cargo:rerun-if-changed={}", file.display());
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let codes = parse_errors(&text, &file);

        writeln!(
            modules,
            "/// Exit codes of `contracts/contracts/{module}/errors.tolk`.\npub mod {module} {{"
        )
        .expect("write");
        for c in &codes {
            if c.doc.is_empty() {
                writeln!(modules, "    /// (undocumented in errors.tolk)").expect("write");
            }
            for line in &c.doc {
                writeln!(modules, "    #[doc = {:?}]", format!(" {line}")).expect("write");
            }
            writeln!(modules, "    pub const {}: i32 = {};", c.name, c.value).expect("write");
            writeln!(
                table,
                "    ExitCode {{ contract: {module:?}, name: {:?}, code: {}, doc: {:?} }},",
                c.name,
                c.value,
                c.doc.join(" ")
            )
            .expect("write");
        }
        modules.push_str("}\n\n");
    }
    format!(
        "{modules}/// Every exit code of every errors.tolk, in file order.\n\
         pub const ALL: &[ExitCode] = &[\n{table}];\n"
    )
}

/// `const NAME = NUMBER` (optionally `: int`, `;`, trailing `//` comment), with the `///` lines
/// directly above it as its doc.
fn parse_errors(text: &str, file: &Path) -> Vec<Code> {
    let mut out = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("const ") {
            let code = rest
                .split("//")
                .next()
                .unwrap_or("")
                .trim()
                .trim_end_matches(';');
            let (lhs, rhs) = code
                .split_once('=')
                .unwrap_or_else(|| panic!("{}:{}: cannot read {raw:?}", file.display(), n + 1));
            let name = lhs.split(':').next().unwrap_or("").trim().to_owned();
            let rhs = rhs.trim();
            let value = if let Some(h) = rhs.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else {
                rhs.parse()
            };
            match value {
                Ok(value) if !name.is_empty() => out.push(Code {
                    name,
                    value,
                    doc: std::mem::take(&mut doc),
                }),
                _ => println!(
                    "cargo:warning={}:{}: skipped a const that is not `NAME = NUMBER`: {raw:?}",
                    file.display(),
                    n + 1
                ),
            }
        }
        doc.clear();
    }
    out
}
