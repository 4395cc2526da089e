//! Trains and evaluates the `pii/name` tagger with the detector core's own tokens and features,
//! so what is trained is exactly what runs (an example of `parapet-filter`).
//!
//! ```text
//! cargo run --release -p parapet-filter --example names -- train DATA OUT.bin
//! cargo run --release -p parapet-filter --example names -- eval MODEL.bin DATA [METRICS.json]
//! names show MODEL.bin FILE.jsonl LANG|all   # texts where tagger and labels disagree, marked
//! names flags MODEL.bin FILE.jsonl            # every name found at L2, in context
//! names score MODEL.bin TEXT                 # each token's logit
//! names explain MODEL.bin TEXT WORD           # WORD's features and their weights
//! ```
//! `DATA` is the directory `generate.py` and `prepare.py` wrote (see models/names/README.md).
//! Training: logistic regression on hashed features, AdaGrad, a fixed number of passes in a
//! fixed order (no randomness); weights stored as i16 at `SCALE` per logit unit. Real text comes
//! in with the name teacher's labels (`silver.jsonl`, `teacher.py`) where `prepare.py` wrote them.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use parapet_filter::detectors::name::{features, fnv, tagged_features, Class, Lexicons, Prepared, Tagger, SCALE};
use parapet_filter::policy::Level;
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn Error>>;

const BITS: u32 = 18;
const EPOCHS: usize = 6;
const RUNS: usize = 4;
/// Token probability each level needs: L1 (fewest flags) .. L4 (most).
const LEVEL_P: [f64; 4] = [0.95, 0.85, 0.7, 0.5];

struct Example {
    text: String,
    /// Byte ranges of the names.
    spans: Vec<(usize, usize)>,
    lang: String,
    cat: String,
    kind: String,
    /// The row of the shared data file the text came from, where the file records it.
    row: Option<u64>,
}

/// Byte offset of each code point of `text`, and of its end.
fn char_starts(text: &str) -> Vec<usize> {
    text.char_indices().map(|(b, _)| b).chain([text.len()]).collect()
}

/// The byte range of a `[start, end, ...]` array of code-point offsets (`starts`: [`char_starts`]).
fn byte_range(starts: &[usize], v: &Value) -> Option<(usize, usize)> {
    Some((*starts.get(v.get(0)?.as_u64()? as usize)?, *starts.get(v.get(1)?.as_u64()? as usize)?))
}

fn byte_spans(text: &str, spans: &[Value]) -> Vec<(usize, usize)> {
    let starts = char_starts(text);
    spans.iter().filter_map(|s| byte_range(&starts, s)).collect()
}

fn read(path: &Path, want_split: Option<&str>) -> Res<Vec<Example>> {
    let mut out = Vec::new();
    if !path.exists() {
        return Ok(out);
    }
    for line in fs::read_to_string(path)?.lines() {
        let v: Value = serde_json::from_str(line)?;
        if let Some(s) = want_split {
            if v.get("split").and_then(Value::as_str) != Some(s) {
                continue;
            }
        }
        let text = v.get("text").and_then(Value::as_str).unwrap_or("").to_string();
        let spans = byte_spans(&text, v.get("spans").and_then(Value::as_array).map_or(&[][..], Vec::as_slice));
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        // Group by `source` where a file has one (the false-positive texts), else by `kind`.
        let kind = if v.get("source").is_some() { field("source") } else { field("kind") };
        let row = v.get("row").and_then(Value::as_u64);
        out.push(Example { spans, lang: field("lang"), cat: field("cat"), kind, text, row });
    }
    Ok(out)
}

fn lexicon(path: &Path) -> Res<Vec<u32>> {
    let mut v: Vec<u32> = fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let lw: String = l.trim().chars().flat_map(char::to_lowercase).collect();
            fnv(0, lw.as_bytes())
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

fn lexicons(data: &Path) -> Res<Lexicons> {
    Ok(Lexicons {
        first: lexicon(&data.join("first-names-train.txt"))?,
        last: lexicon(&data.join("last-names-train.txt"))?,
        common: lexicon(&data.join("common-words.txt"))?,
    })
}

/// One training text: each token's hashed features (unmasked) and label (`None`: left out).
struct Seq {
    feats: Vec<Vec<u32>>,
    /// Each token's target probability of being (part of) a name; `None`: left out.
    labels: Vec<Option<f32>>,
    /// Loss weight of the text's tokens.
    weight: f32,
}

/// A knob of the trainer (environment `PARAPET_NAMES_<KEY>`), for the card's experiments.
fn knob(key: &str, default: f64) -> f64 {
    std::env::var(format!("PARAPET_NAMES_{key}")).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn train(data: &Path, out: &Path) -> Res<()> {
    let lex = lexicons(data)?;
    let mut ex = read(&data.join("names.jsonl"), Some("train"))?;
    ex.extend(read(&data.join("real-negatives.jsonl"), None)?);
    // A fixed interleaving instead of a shuffle: every 7th example of a rotating order.
    let n = ex.len();
    let order: Vec<usize> = (0..n).map(|i| (i * 7919) % n).collect();
    let mut seqs: Vec<Seq> = Vec::new();
    let mut feats = Vec::new();
    let mut tagged = Vec::new();
    // Share of generated tokens whose neighbours' words are left out: the templates repeat the
    // words around a name, which a real text does not.
    let near_drop = knob("NEAR_DROP", 0.5);
    // Every name of a training sentence is in the gazetteers, so a model trained only with them
    // learns "name = in the list" and misses every name the lists lack. A quarter of the texts
    // are therefore featurised without the name lists, and a token's own word is hidden from a
    // third of the tokens, so context and shape carry weight of their own.
    let no_names = Lexicons { first: Vec::new(), last: Vec::new(), common: lex.common.clone() };
    for (n_ex, &k) in order.iter().enumerate() {
        let e = &ex[k];
        let p = Prepared::new(&e.text, if n_ex % 4 != 0 { &lex } else { &no_names });
        let mut seq = Seq { feats: Vec::new(), labels: Vec::new(), weight: 1.0 };
        for (i, t) in p.toks.iter().enumerate() {
            tagged_features(&p, i, &mut tagged);
            let y = e.spans.iter().any(|&(a, b)| t.start < b && a < t.end);
            // Template 1 is the token's own word; 8-11 and 48-51 the neighbours' words.
            let hide_word = (n_ex * 31 + i * 17) % 3 == 0;
            let hide_near = ((n_ex * 7 + i * 13) % 1000) as f64 / 1000.0 < near_drop;
            seq.feats.push(
                tagged
                    .iter()
                    .filter(|(t, _)| !((hide_word && *t == 1) || (hide_near && matches!(t, 8..=11 | 48..=51))))
                    .map(|(_, f)| *f)
                    .collect(),
            );
            seq.labels.push(Some(f32::from(u8::from(y))));
        }
        seqs.push(seq);
    }
    // Without the name teacher's labels (below), weak labels on real text: a capitalised first
    // name that is not a common word and does not open a sentence (or opens it before a
    // capitalised last name) is a name, with the capitalised word after it when that is a last
    // name or uncommon; lower-case words, and capitalised common words that are in no name list,
    // are not names; every other token is left out. Featurised without the name lists (the rule
    // would otherwise be learnt back) and, for half the names, without the word itself: what
    // these add is context.
    let weak = read(&data.join("weak.jsonl"), None)?;
    let weak_lex = knob("WEAK_LEX", 0.0);
    let (mut wpos, mut wneg) = (0usize, 0usize);
    // The name teacher's labels of the same texts replace the rule where `prepare.py` wrote them.
    let silver_weight = knob("SILVER", 1.0) as f32;
    let silver_hard = knob("SILVER_HARD", 0.5) as f32;
    let single_letters = knob("SILVER_SKIP_LETTERS", 1.0) > 0.0;
    let silver_path = data.join("silver.jsonl");
    let use_silver = silver_weight > 0.0 && silver_path.exists();
    for (n_ex, e) in weak.iter().enumerate().filter(|_| !use_silver) {
        let full = Prepared::new(&e.text, &lex);
        let with_lists = ((n_ex * 37) % 1000) as f64 / 1000.0 < weak_lex;
        let p = Prepared::new(&e.text, if with_lists { &lex } else { &no_names });
        let mut label: Vec<Option<bool>> = vec![None; full.toks.len()];
        for (i, t) in full.toks.iter().enumerate() {
            let (first, last, common) = full.lexicon_hits(i);
            let next_last = full.toks.get(i + 1).is_some_and(|u| u.class == Class::Cap) && full.lexicon_hits(i + 1).1;
            if t.class == Class::Cap && first && !common && (!full.starts_sentence(i) || next_last) {
                label[i] = Some(true);
                if let Some(u) = full.toks.get(i + 1) {
                    let (_, l2, c2) = full.lexicon_hits(i + 1);
                    if u.class == Class::Cap && (l2 || !c2) && full.joined(i) {
                        label[i + 1] = Some(true);
                    }
                }
            } else if label[i].is_none()
                && (t.class == Class::Lower || t.class == Class::Mixed || (t.class == Class::Cap && common && !first && !last))
            {
                label[i] = Some(false);
            }
        }
        // A capitalised word in no name list, next to no name, is taken for a thing ("India",
        // "Netflix", "Ranking"): without these the rule's positives alone would teach that any
        // capitalised word inside a sentence is a name.
        for i in 0..label.len() {
            let near = |j: Option<usize>| j.and_then(|j| label.get(j)).is_some_and(|l| *l == Some(true));
            let (first, last, _) = full.lexicon_hits(i);
            if label[i].is_none()
                && full.toks.get(i).is_some_and(|t| t.class == Class::Cap)
                && !first
                && !last
                && !near(i.checked_sub(1))
                && !near(Some(i + 1))
            {
                label[i] = Some(false);
            }
        }
        let mut seq = Seq { feats: Vec::new(), labels: label.iter().map(|l| l.map(|y| f32::from(u8::from(y)))).collect(), weight: 1.0 };
        for (i, l) in label.iter().enumerate() {
            features(&p, i, &mut feats);
            let hide_word = *l == Some(true) && (n_ex + i) % 2 == 0;
            seq.feats.push(feats.iter().enumerate().filter(|(j, _)| !(hide_word && *j == 1)).map(|(_, f)| *f).collect());
            match l {
                Some(true) => wpos += 1,
                Some(false) => wneg += 1,
                None => {}
            }
        }
        seqs.push(seq);
    }
    if !use_silver {
        eprintln!("weak labels: {} texts, {wpos} name tokens, {wneg} other tokens", weak.len());
    }
    // Silver labels: the name teacher's probabilities (`teacher.py label`) on the same real
    // texts, each token taking the highest of the teacher's words it overlaps (0 where the
    // artifact lists none): at least `SILVER_HARD` a name, 0.1 or less not, between left out
    // (`SILVER_HARD=0`: the probabilities as soft targets). Featurised with the name lists: the
    // teacher does not read them, so they are not learnt back.
    if use_silver {
        let mut n_silver = 0usize;
        for line in fs::read_to_string(&silver_path)?.lines() {
            let v: Value = serde_json::from_str(line)?;
            let text = v.get("text").and_then(Value::as_str).unwrap_or("");
            let starts = char_starts(text);
            let words: Vec<(usize, usize, f32)> = v
                .get("words")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(|w| {
                    let (a, b) = byte_range(&starts, w)?;
                    Some((a, b, w.get(2)?.as_f64()? as f32))
                })
                .collect();
            let p = Prepared::new(text, &lex);
            let mut seq = Seq { feats: Vec::new(), labels: Vec::new(), weight: silver_weight };
            for (i, t) in p.toks.iter().enumerate() {
                features(&p, i, &mut feats);
                seq.feats.push(feats.clone());
                let y = words.iter().filter(|(a, b, _)| t.start < *b && *a < t.end).map(|w| w.2).fold(0.0f32, f32::max);
                let letter = text.get(t.start..t.end).is_some_and(|w| w.chars().count() == 1);
                seq.labels.push(match y {
                    _ if letter && single_letters => None,
                    _ if silver_hard <= 0.0 => Some(y),
                    y if y >= silver_hard => Some(1.0),
                    y if y <= 0.1 => Some(0.0),
                    _ => None,
                });
            }
            seqs.push(seq);
            n_silver += 1;
        }
        eprintln!("silver labels: {n_silver} texts");
    }
    // Source code as weak negatives: a word glued to code punctuation (`Vec<`, `.Iterator`,
    // `Kelvin(`, `::Line`), an identifier in mixed case or with digits, and a capitalised word in
    // no name list are not names; other words (comments may name people) are left out. Featurised
    // with the name lists: what this teaches is that a listed name in code position is no name.
    let code = read(&data.join("code.jsonl"), None)?;
    let mut cneg = 0usize;
    let code_weight = knob("CODE_WEIGHT", 1.0) as f32;
    for e in &code {
        let p = Prepared::new(&e.text, &lex);
        let mut seq = Seq { feats: Vec::new(), labels: Vec::new(), weight: code_weight };
        for (i, t) in p.toks.iter().enumerate() {
            let (head, tail) = (e.text.get(..t.start).unwrap_or(""), e.text.get(t.end..).unwrap_or(""));
            // Only punctuation prose does not glue to a name: not `Carla.`, `Hal:`, `(Jen)`.
            let code_punct = head.ends_with("::")
                || head.chars().next_back().is_some_and(|c| "._$@#/\\<".contains(c))
                || tail.starts_with("::")
                || tail.chars().next().is_some_and(|c| "<_=([{".contains(c))
                || (tail.starts_with('.') && tail.chars().nth(1).is_some_and(char::is_alphanumeric));
            let neg = code_punct || matches!(t.class, Class::Mixed | Class::Digit);
            features(&p, i, &mut feats);
            seq.feats.push(feats.clone());
            seq.labels.push(if neg { Some(0.0) } else { None });
            cneg += usize::from(neg);
        }
        seqs.push(seq);
    }
    eprintln!("code: {} chunks, {cneg} negative tokens", code.len());
    // Interleave weak and generated texts (a fixed permutation: 7919 is prime).
    let total = seqs.len();
    let mut slots: Vec<Option<Seq>> = seqs.into_iter().map(Some).collect();
    let seqs: Vec<Seq> = (0..total)
        .filter_map(|i| if total % 7919 == 0 { slots[i].take() } else { slots[(i * 7919) % total].take() })
        .collect();
    let tokens: usize = seqs.iter().map(|s| s.labels.len()).sum();
    let pos = seqs.iter().flat_map(|s| &s.labels).filter(|l| l.is_some_and(|y| y >= 0.5)).count();
    eprintln!("train: {n} generated and real-negative texts, {tokens} tokens, {pos} name tokens");
    // The shipped weights are the mean of `RUNS` runs, each over the texts in another order: one
    // run's figures on the real set move by a few hundredths with the order alone, and a mean of
    // linear models is one linear model.
    let runs = knob("RUNS", RUNS as f64).max(1.0) as usize;
    let seed = knob("SEED", 0.0) as usize;
    let mut w = vec![0f32; 1 << BITS];
    for r in 0..runs {
        for (x, y) in w.iter_mut().zip(fit(&seqs, seed + r)) {
            *x += y * (1.0 / runs as f32);
        }
    }
    let weights: Vec<i16> = w.iter().map(|x| (x * SCALE as f32).round().clamp(-32767.0, 32767.0) as i16).collect();
    let logit = |p: f64| ((p / (1.0 - p)).ln() * f64::from(SCALE)).round() as i32;
    let thresholds = [logit(LEVEL_P[0]), logit(LEVEL_P[1]), logit(LEVEL_P[2]), logit(LEVEL_P[3])];
    let t = Tagger { bits: BITS, weights, lex, thresholds };
    fs::write(out, t.to_bytes())?;
    eprintln!("wrote {} ({} bytes)", out.display(), t.to_bytes().len());
    Ok(())
}

/// One training run: AdaGrad over every text `EPOCHS` times, in an order set by `seed`; the
/// mean of the last half of the epochs' weights (steadier on unseen text). Each text's tokens
/// are scored first, then its weights updated.
fn fit(seqs: &[Seq], seed: usize) -> Vec<f32> {
    let epochs = knob("EPOCHS", EPOCHS as f64) as usize;
    let total = seqs.len();
    // Each seed its own order: k -> k * p mod total for the seed's prime p (a rotation of one
    // order would give nearly the same run).
    const PRIMES: [usize; 8] = [1, 7919, 104_729, 15_485_863, 32_452_843, 49_979_687, 67_867_967, 86_028_121];
    let p = PRIMES.get(seed % PRIMES.len()).copied().unwrap_or(1);
    let order: Vec<usize> =
        (0..total).map(|k| if total % p == 0 && p > 1 { k } else { (k * p + seed / PRIMES.len()) % total }).collect();
    let pos = seqs.iter().flat_map(|s| &s.labels).filter(|l| l.is_some_and(|y| y >= 0.5)).count();
    let (lr, l2) = (knob("LR", 0.2) as f32, knob("L2", 1e-6) as f32);
    let pos_weight = knob("POS_WEIGHT", 1.0) as f32;
    let mask = (1u32 << BITS) - 1;
    let mut w = vec![0f32; 1 << BITS];
    let mut gw = vec![1e-6f32; 1 << BITS];
    let mut avg = vec![0f32; 1 << BITS];
    let last = epochs - epochs / 2;
    for epoch in 0..epochs {
        let mut loss = 0f64;
        for &k in &order {
            let s = &seqs[k];
            let g: Vec<f32> = s
                .feats
                .iter()
                .zip(&s.labels)
                .map(|(f, l)| {
                    let Some(y) = *l else { return 0.0 };
                    let z: f32 = f.iter().map(|&j| w[(j & mask) as usize]).sum();
                    let p = 1.0 / (1.0 + (-z).exp());
                    loss -= f64::from(y * p.max(1e-7).ln() + (1.0 - y) * (1.0 - p).max(1e-7).ln());
                    s.weight * (y * (p - 1.0) * pos_weight + (1.0 - y) * p)
                })
                .collect();
            for (f, gi) in s.feats.iter().zip(g) {
                if gi == 0.0 {
                    continue;
                }
                for &j in f {
                    let j = (j & mask) as usize;
                    let gj = gi + l2 * w[j];
                    gw[j] += gj * gj;
                    w[j] -= lr * gj / gw[j].sqrt();
                }
            }
        }
        eprintln!("epoch {epoch}: loss {:.4}", loss / pos.max(1) as f64);
        if epoch >= epochs / 2 {
            for (a, x) in avg.iter_mut().zip(&w) {
                *a += x * (1.0 / last as f32);
            }
        }
    }
    avg
}

#[derive(Default, Clone, Copy)]
struct Counts {
    gold: usize,
    pred: usize,
    exact: usize,
    /// Predicted spans overlapping a gold span, and gold spans overlapped by a prediction.
    pred_ov: usize,
    gold_ov: usize,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.gold += o.gold;
        self.pred += o.pred;
        self.exact += o.exact;
        self.pred_ov += o.pred_ov;
        self.gold_ov += o.gold_ov;
    }
    fn json(&self) -> Value {
        let div = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let f1 = |p: f64, r: f64| if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        let (pe, re) = (div(self.exact, self.pred), div(self.exact, self.gold));
        let (po, ro) = (div(self.pred_ov, self.pred), div(self.gold_ov, self.gold));
        json!({"gold": self.gold, "pred": self.pred,
               "exact": {"p": r3(pe), "r": r3(re), "f1": r3(f1(pe, re))},
               "overlap": {"p": r3(po), "r": r3(ro), "f1": r3(f1(po, ro))}})
    }
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn compare(gold: &[(usize, usize)], pred: &[(usize, usize)]) -> Counts {
    let ov = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    Counts {
        gold: gold.len(),
        pred: pred.len(),
        exact: pred.iter().filter(|p| gold.contains(p)).count(),
        pred_ov: pred.iter().filter(|p| gold.iter().any(|g| ov(**p, *g))).count(),
        gold_ov: gold.iter().filter(|g| pred.iter().any(|p| ov(*p, **g))).count(),
    }
}

const LEVELS: [Level; 4] = [Level::L1, Level::L2, Level::L3, Level::L4];

fn level_name(l: Level) -> &'static str {
    match l {
        Level::L1 => "L1",
        Level::L2 => "L2",
        Level::L3 => "L3",
        Level::L4 => "L4",
    }
}

/// Span counts per group and level.
fn score(t: &Tagger, ex: &[Example], group: impl Fn(&Example) -> String) -> BTreeMap<String, [Counts; 4]> {
    let mut out: BTreeMap<String, [Counts; 4]> = BTreeMap::new();
    for e in ex {
        let found = t.names(&e.text);
        for (k, lv) in LEVELS.iter().enumerate() {
            let pred: Vec<(usize, usize)> = found.iter().filter(|f| f.2 <= *lv).map(|f| (f.0, f.1)).collect();
            let c = compare(&e.spans, &pred);
            for g in [group(e), "all".to_string()] {
                out.entry(g).or_default()[k].add(c);
            }
        }
    }
    out
}

fn table(title: &str, m: &BTreeMap<String, [Counts; 4]>) -> Value {
    println!("\n{title} (span F1 exact / overlapping, P and R at L2)");
    println!("{:<14} {:>6} {:>13} {:>13} {:>13} {:>13} {:>16}", "group", "names", "L1", "L2", "L3", "L4", "L2 P / R exact");
    let mut j = serde_json::Map::new();
    for (g, cs) in m {
        let js: Vec<Value> = cs.iter().map(Counts::json).collect();
        let f = |v: &Value, k: &str| v.get(k).and_then(|x| x.get("f1")).and_then(Value::as_f64).unwrap_or(0.0);
        let pr = |v: &Value, k: &str| v.get("exact").and_then(|x| x.get(k)).and_then(Value::as_f64).unwrap_or(0.0);
        println!(
            "{:<14} {:>6} {:>13} {:>13} {:>13} {:>13} {:>16}",
            g,
            cs[0].gold,
            format!("{:.3}/{:.3}", f(&js[0], "exact"), f(&js[0], "overlap")),
            format!("{:.3}/{:.3}", f(&js[1], "exact"), f(&js[1], "overlap")),
            format!("{:.3}/{:.3}", f(&js[2], "exact"), f(&js[2], "overlap")),
            format!("{:.3}/{:.3}", f(&js[3], "exact"), f(&js[3], "overlap")),
            format!("{:.3} / {:.3}", pr(&js[1], "p"), pr(&js[1], "r")),
        );
        let per: serde_json::Map<String, Value> =
            LEVELS.iter().zip(js).map(|(l, v)| (level_name(*l).to_string(), v)).collect();
        j.insert(g.clone(), Value::Object(per));
    }
    Value::Object(j)
}

fn eval(model: &Path, data: &Path, metrics: Option<PathBuf>) -> Res<()> {
    let t = Tagger::parse(&fs::read(model)?)?;
    let dev = read(&data.join("names.jsonl"), Some("dev"))?;
    let by_lang = score(&t, &dev, |e| e.lang.clone());
    let gen_lang = table("Generated dev set (held-out templates and names), by language", &by_lang);
    let by_cat = score(&t, &dev, |e| e.cat.clone());
    let gen_cat = table("Generated dev set, by kind of text", &by_cat);
    let real = read(&data.join("real.jsonl"), None)?;
    let real_kind = table("Hand-checked real text, by kind", &score(&t, &real, |e| e.kind.clone()));
    let real_lang = table("Hand-checked real text, by language", &score(&t, &real, |e| e.lang.clone()));
    // False positives on real documents and prompts: flags per 10,000 characters.
    let fp = read(&data.join("fp.jsonl"), None)?;
    // Native tagging time over these texts (the card's cost table is the wasm benchmark's).
    let t0 = std::time::Instant::now();
    let chars: usize = fp.iter().map(|e| { std::hint::black_box(t.names(&e.text)); e.text.chars().count() }).sum();
    eprintln!("native: {:.1} µs per 1,000 characters", t0.elapsed().as_secs_f64() * 1e9 / chars.max(1) as f64);
    println!("\nFlags per 10,000 characters on real documents and chat prompts (sources never trained on)");
    println!("{:<28} {:>9} {:>8} {:>8} {:>8} {:>8}", "source", "chars", "L1", "L2", "L3", "L4");
    let mut groups: BTreeMap<String, (usize, [usize; 4], Vec<String>)> = BTreeMap::new();
    for e in &fp {
        let found = t.names(&e.text);
        for key in [e.kind.clone(), "all".to_string()] {
            let g = groups.entry(key).or_default();
            g.0 += e.text.chars().count();
            for (k, lv) in LEVELS.iter().enumerate() {
                g.1[k] += found.iter().filter(|f| f.2 <= *lv).count();
            }
            for f in found.iter().filter(|f| f.2 <= Level::L2) {
                if g.2.len() < 12 {
                    g.2.push(e.text.get(f.0..f.1).unwrap_or("").to_string());
                }
            }
        }
    }
    let mut fp_json = serde_json::Map::new();
    for (g, (chars, flags, examples)) in &groups {
        let per = |n: usize| if *chars == 0 { 0.0 } else { n as f64 * 10_000.0 / *chars as f64 };
        println!(
            "{:<28} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2}   e.g. {}",
            g,
            chars,
            per(flags[0]),
            per(flags[1]),
            per(flags[2]),
            per(flags[3]),
            examples.join(" | ")
        );
        fp_json.insert(
            g.clone(),
            json!({"chars": chars, "per_10k": {"L1": r3(per(flags[0])), "L2": r3(per(flags[1])),
                    "L3": r3(per(flags[2])), "L4": r3(per(flags[3]))}}),
        );
    }
    let checked = hand_checked(&t, &fp)?;
    if let Some(path) = metrics {
        let m = json!({
            "model": model.file_name().and_then(|s| s.to_str()),
            "generated_dev_by_language": gen_lang,
            "generated_dev_by_kind": gen_cat,
            "real_by_kind": real_kind,
            "real_by_language": real_lang,
            "flags_per_10k_chars": fp_json,
            "hand_checked_not_names_per_10k_chars_l2": checked,
            "texts": {"generated_dev": dev.len(), "real": real.len(), "fp": fp.len()},
        });
        fs::write(path, serde_json::to_string_pretty(&m)? + "\n")?;
    }
    Ok(())
}

/// Not-names per 10,000 characters at `L2` per source, from the hand-checked verdicts
/// (`models/names/eval/fp-checked.tsv`); flags the file has no verdict for are counted apart,
/// so a retrained model's new flags show up as unchecked instead of silently as right.
fn hand_checked(t: &Tagger, fp: &[Example]) -> Res<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/names/eval/fp-checked.tsv");
    let mut verdict: BTreeMap<(String, String, String, String), bool> = BTreeMap::new();
    for line in fs::read_to_string(&path)?.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if let [file, row, start, end, v] = f.as_slice() {
            let source = file.trim_end_matches(".jsonl.gz").to_string();
            verdict.insert((source, row.to_string(), start.to_string(), end.to_string()), *v == "not");
        }
    }
    let mut per: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // chars, not names, unchecked
    for e in fp {
        let row = e.row.map_or("-".to_string(), |r| r.to_string());
        let cp = |i: usize| e.text.get(..i).map_or(0, |x| x.chars().count()).to_string();
        for key in [e.kind.clone(), "all".to_string()] {
            let g = per.entry(key).or_default();
            g.0 += e.text.chars().count();
            for (a, b, _) in t.names(&e.text).into_iter().filter(|f| f.2 <= Level::L2) {
                match verdict.get(&(e.kind.clone(), row.clone(), cp(a), cp(b))) {
                    Some(true) => g.1 += 1,
                    Some(false) => {}
                    None => g.2 += 1,
                }
            }
        }
    }
    println!("\nHand-checked: flags at L2 that are not names, per 10,000 characters (unchecked flags apart)");
    let mut out = serde_json::Map::new();
    for (g, (chars, not, unchecked)) in &per {
        let rate = if *chars == 0 { 0.0 } else { *not as f64 * 10_000.0 / *chars as f64 };
        println!("{g:<28} {rate:>8.2}   unchecked {unchecked}");
        out.insert(g.clone(), json!({"not_names": not, "per_10k": r3(rate), "unchecked": unchecked}));
    }
    Ok(Value::Object(out))
}

/// Prints every name the tagger finds at `L2` in `file`, one per line: the text's group, its
/// row, the name's code-point offsets, the name, and up to 60 characters either side (for
/// hand-checking the false-positive texts).
fn flags(model: &Path, file: &Path) -> Res<()> {
    let t = Tagger::parse(&fs::read(model)?)?;
    for e in read(file, None)? {
        for (a, b, _) in t.names(&e.text).into_iter().filter(|f| f.2 <= Level::L2) {
            let before: String = e.text.get(..a).unwrap_or("").chars().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
            let after: String = e.text.get(b..).unwrap_or("").chars().take(60).collect();
            let clean = |x: &str| x.replace(['\n', '\t'], " ");
            let cp = |i: usize| e.text.get(..i).map_or(0, |x| x.chars().count());
            let row = e.row.map_or("-".to_string(), |r| r.to_string());
            let name = clean(e.text.get(a..b).unwrap_or(""));
            println!("{}\t{row}\t{}\t{}\t{name}\t{}[{name}]{}", e.kind, cp(a), cp(b), clean(&before), clean(&after));
        }
    }
    Ok(())
}

/// Prints the texts of `file` (language `lang`, or `all`) where the tagger and the labels
/// disagree, names marked `[[gold]]` and `{{found}}`.
fn show(model: &Path, file: &Path, lang: &str) -> Res<()> {
    let t = Tagger::parse(&fs::read(model)?)?;
    for e in read(file, None)? {
        if lang != "all" && e.lang != lang {
            continue;
        }
        let found: Vec<(usize, usize)> = t.names(&e.text).iter().filter(|f| f.2 <= Level::L2).map(|f| (f.0, f.1)).collect();
        if found == e.spans {
            continue;
        }
        let mut marks: Vec<(usize, &str)> = Vec::new();
        for (a, b) in &e.spans {
            marks.push((*a, "[["));
            marks.push((*b, "]]"));
        }
        for (a, b) in &found {
            marks.push((*a, "{{"));
            marks.push((*b, "}}"));
        }
        marks.sort();
        let mut out = String::new();
        let mut at = 0;
        for (p, m) in marks {
            out.push_str(e.text.get(at..p).unwrap_or(""));
            out.push_str(m);
            at = p;
        }
        out.push_str(e.text.get(at..).unwrap_or(""));
        println!("[{} {}] {}", e.cat, e.kind, out.replace('\n', " ⏎ "));
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["train", data, out] => train(Path::new(data), Path::new(out)),
        ["eval", model, data] => eval(Path::new(model), Path::new(data), None),
        ["show", model, file, lang] => show(Path::new(model), Path::new(file), lang),
        ["flags", model, file] => flags(Path::new(model), Path::new(file)),
        ["score", model, text] => {
            let t = Tagger::parse(&fs::read(model)?)?;
            let p = Prepared::new(text, &t.lex);
            for (tok, s) in p.toks.iter().zip(t.scores(&p)) {
                print!("{}:{:.1} ", &text[tok.start..tok.end], f64::from(s) / f64::from(SCALE));
            }
            println!();
            Ok(())
        }
        ["explain", model, text, word] => {
            // Each feature of every occurrence of `word`: its template and weight (logit units).
            let t = Tagger::parse(&fs::read(model)?)?;
            let p = Prepared::new(text, &t.lex);
            let mask = (1u32 << t.bits) - 1;
            let mut tagged = Vec::new();
            for (i, tok) in p.toks.iter().enumerate().filter(|(_, k)| &text[k.start..k.end] == *word) {
                tagged_features(&p, i, &mut tagged);
                let parts: Vec<String> = tagged
                    .iter()
                    .map(|(tid, h)| format!("{tid}:{:+.1}", f64::from(t.weights[(h & mask) as usize]) / f64::from(SCALE)))
                    .collect();
                println!("{}@{}: {}", word, tok.start, parts.join(" "));
            }
            Ok(())
        }
        ["eval", model, data, metrics] => eval(Path::new(model), Path::new(data), Some(PathBuf::from(metrics))),
        _ => Err("usage: names train DATA OUT.bin | eval MODEL.bin DATA [METRICS.json] | show MODEL.bin FILE LANG | flags MODEL.bin FILE | score MODEL.bin TEXT | explain MODEL.bin TEXT WORD".into()),
    }
}
