//! Converts the shipped guard model at build time, the way tract recommends: the runtime then
//! carries only tract's small NNEF loader, not the ONNX/protobuf stack.
//!
//! In: `models/parapet-guard-v1.int8.onnx` and `models/tokenizer.json`. Out (in `OUT_DIR`):
//! - `guard.nnef.tar`: the decluttered graph plus its small tensors;
//! - `guard.q8`: every large weight as int8 with per-channel scales (see `src/model/q8.rs`),
//!   dequantised at load, which is bit-exact with the ONNX file's DequantizeLinear;
//! - `vocab.txt`: the WordPiece vocabulary, one token per line, line number = id;
//! - `source.stamp`: a digest of the inputs the three were made from.
//!
//! The converted model is then run against the ONNX original on fixed inputs and the build fails
//! if any logit differs by more than 1e-4: tract 0.23.9's NNEF writer silently merged two nodes
//! whose names collide, so a conversion is never trusted unchecked.
//!
//! Without the `convert-model` feature (`scripts/start.sh`'s host build) the importer is not
//! compiled at all: the files are copied from an earlier conversion of the same inputs, the
//! directory `PARAPET_CONVERTED_MODEL` names (the Envoy module's build of this crate), and the
//! build fails if that directory's stamp is not the digest of today's inputs.

use std::error::Error;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn Error>>;

const OUTPUTS: [&str; 3] = ["guard.nnef.tar", "guard.q8", "vocab.txt"];

fn main() -> Res<()> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let models = manifest.join("../models");
    let onnx_path = models.join("parapet-guard-v1.int8.onnx");
    let tok_path = models.join("tokenizer.json");
    let q8_path = manifest.join("src/model/q8.rs");
    println!("cargo:rerun-if-changed={}", onnx_path.display());
    println!("cargo:rerun-if-changed={}", tok_path.display());
    println!("cargo:rerun-if-changed=src/model/q8.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PARAPET_CONVERTED_MODEL");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let stamp = stamp(&[&onnx_path, &tok_path, &q8_path, &manifest.join("build.rs")])?;
    #[cfg(feature = "convert-model")]
    convert::convert(&onnx_path, &tok_path, &out)?;
    #[cfg(not(feature = "convert-model"))]
    copy_converted(&stamp, &out)?;
    std::fs::write(out.join("source.stamp"), &stamp)?;
    Ok(())
}

/// A digest of the conversion's inputs (64-bit FNV-1a of each file, in order): it only has to
/// tell a stale conversion from a current one.
fn stamp(inputs: &[&Path]) -> Res<String> {
    let mut s = String::new();
    for p in inputs {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in std::fs::read(p)? {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        s.push_str(&format!("{h:016x}\n"));
    }
    Ok(s)
}

#[cfg(not(feature = "convert-model"))]
fn copy_converted(stamp: &str, out: &Path) -> Res<()> {
    let from = std::env::var("PARAPET_CONVERTED_MODEL").map_err(|_| {
        "parapet-filter without the `convert-model` feature needs PARAPET_CONVERTED_MODEL: the OUT_DIR of a \
         build of this crate with the feature (scripts/start.sh passes the Envoy module's)"
    })?;
    let from = PathBuf::from(from);
    println!("cargo:rerun-if-changed={}", from.join("source.stamp").display());
    let theirs = std::fs::read_to_string(from.join("source.stamp"))
        .map_err(|e| format!("{}: {e}", from.join("source.stamp").display()))?;
    if theirs != stamp {
        return Err(format!("{} was converted from other inputs than today's models/ and build.rs", from.display()).into());
    }
    for f in OUTPUTS {
        std::fs::copy(from.join(f), out.join(f)).map_err(|e| format!("{}: {e}", from.join(f).display()))?;
    }
    Ok(())
}

#[cfg(feature = "convert-model")]
#[path = "src/model/q8.rs"]
#[allow(dead_code)]
mod q8;

#[cfg(feature = "convert-model")]
mod convert {
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalContext, TypedModelPatch};

use super::Res;

use super::q8;

/// Tensors at least this large go to the int8 blob; the rest stay f32 in the tar.
const BIG: usize = 16384;

pub fn convert(onnx_path: &Path, tok_path: &Path, out: &Path) -> Res<()> {
    let onnx = tract_onnx::onnx().model_for_path(onnx_path)?.into_typed()?.into_decluttered()?;
    let graph = prepare(onnx.clone())?;
    let nnef = tract_nnef::nnef();
    let mut full = Vec::new();
    nnef.write_to_tar_with_config(&graph, &mut full, false, true)?;
    let (small, blob) = split(&full)?;
    std::fs::write(out.join(super::OUTPUTS[0]), &small)?;
    std::fs::write(out.join(super::OUTPUTS[1]), &blob)?;
    check(&onnx, &small, &blob)?;
    std::fs::write(out.join(super::OUTPUTS[2]), vocab(tok_path)?)?;
    Ok(())
}

/// Folds the constant DequantizeLinear tract leaves in place (the embedding's) and gives every
/// node a unique NNEF-safe name.
fn prepare(mut m: TypedModel) -> Res<TypedModel> {
    while let Some(id) = m.nodes.iter().position(|n| n.op.name().starts_with("DequantizeLinear")) {
        let node = &m.nodes[id];
        let mut inputs = TVec::new();
        for i in &node.inputs {
            let k = m.outlet_fact(*i)?.konst.clone().ok_or("DequantizeLinear with a non-constant input")?;
            inputs.push(k.into_tvalue());
        }
        let folded = node.op.eval(&EvalContext::out_of_plan(), inputs)?;
        let value = folded.first().ok_or("DequantizeLinear produced nothing")?.clone().into_tensor();
        let mut patch = TypedModelPatch::default();
        let w = patch.add_const(format!("{}.folded", node.name), value)?;
        patch.shunt_outside(&m, OutletId::new(id, 0), w)?;
        patch.apply(&mut m)?;
        m = m.into_decluttered()?;
    }
    for n in m.nodes.iter_mut() {
        if n.op.name() != "Source" {
            n.name = format!("n{}", n.id);
        }
    }
    Ok(m)
}

/// Moves the large f32 tensors out of the tar into the int8 blob. The weights were stored int8
/// per channel in the ONNX file, so re-deriving the codes must be exact; anything else is an error.
fn split(full: &[u8]) -> Res<(Vec<u8>, Vec<u8>)> {
    let proto = tract_nnef::nnef().proto_model_for_read(&mut &full[..])?;
    let mut big = Vec::new();
    for (id, t) in &proto.tensors {
        if t.datum_type() == f32::datum_type() && t.len() >= BIG {
            let shape = t.shape().to_vec();
            let values: Vec<f32> = t.to_plain_array_view::<f32>()?.iter().copied().collect();
            let q = q8::quantize(&id.0, &shape, &values).ok_or_else(|| format!("tensor {} is not int8 per channel", id.0))?;
            big.push(q);
        }
    }
    big.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<String> = big.iter().map(|q| format!("{}.dat", q.name)).collect();
    let mut ar = tar::Archive::new(full);
    let mut small = tar::Builder::new(Vec::new());
    for e in ar.entries()? {
        let mut e = e?;
        let p = e.path()?.to_string_lossy().trim_start_matches("./").to_string();
        if names.contains(&p) {
            continue;
        }
        let mut data = Vec::new();
        e.read_to_end(&mut data)?;
        let mut h = e.header().clone();
        small.append_data(&mut h, &p, &data[..])?;
    }
    Ok((small.into_inner()?, q8::write(&big)))
}

/// Runs the converted model and the ONNX original on the same windows; they must agree.
fn check(onnx: &TypedModel, small: &[u8], blob: &[u8]) -> Res<()> {
    let nnef = tract_nnef::nnef();
    let mut proto = nnef.proto_model_for_read(&mut &small[..])?;
    for (name, t) in q8::read(blob)? {
        proto.tensors.insert(tract_nnef::internal::Identifier(name), Arc::new(t));
    }
    let converted = nnef.model_for_proto_model(&proto)?.into_decluttered()?;
    let windows: [Vec<i64>; 3] = [
        vec![101, 2054, 2003, 1996, 3007, 1997, 2605, 1029, 102],
        [101].into_iter().chain((0..120).map(|i| 1000 + (i * 37) % 20000)).chain([102]).collect(),
        vec![101, 8568, 2035, 3025, 8128, 1998, 6140, 1996, 2291, 25732, 102],
    ];
    let mut worst = 0f32;
    for w in &windows {
        let a = run(onnx, w)?;
        let b = run(&converted, w)?;
        for (x, y) in a.iter().zip(&b) {
            worst = worst.max((x - y).abs());
        }
    }
    if worst > 1e-4 {
        return Err(format!("converted model disagrees with the ONNX original: max |logit diff| {worst}").into());
    }
    Ok(())
}

fn run(m: &TypedModel, ids: &[i64]) -> Res<Vec<f32>> {
    let s = ids.len();
    let sym = m.symbols.sym("S");
    let mut subs = HashMap::new();
    subs.insert(sym, (s as i64).to_dim());
    let plan = m.set_symbols(&subs)?.into_optimized()?.into_runnable()?;
    let ids = Tensor::from_shape(&[1, s], ids)?;
    let mask = Tensor::from_shape(&[1, s], &vec![1i64; s])?;
    let out = plan.run(tvec!(ids.into_tvalue(), mask.into_tvalue()))?;
    let v = out.first().ok_or("no output")?.to_plain_array_view::<f32>()?;
    Ok(v.iter().copied().collect())
}

/// The vocabulary of a BERT uncased WordPiece `tokenizer.json`, after checking that it is the
/// pipeline the runtime's tokenizer implements.
fn vocab(path: &Path) -> Res<String> {
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let expect = |ptr: &str, want: serde_json::Value| -> Res<()> {
        let got = t.pointer(ptr).cloned().unwrap_or(serde_json::Value::Null);
        if got != want {
            return Err(format!("tokenizer.json {ptr} is {got}, the runtime tokenizer implements {want}").into());
        }
        Ok(())
    };
    expect("/normalizer/type", "BertNormalizer".into())?;
    expect("/normalizer/clean_text", true.into())?;
    expect("/normalizer/handle_chinese_chars", true.into())?;
    expect("/normalizer/strip_accents", serde_json::Value::Null)?;
    expect("/normalizer/lowercase", true.into())?;
    expect("/pre_tokenizer/type", "BertPreTokenizer".into())?;
    expect("/model/type", "WordPiece".into())?;
    expect("/model/unk_token", "[UNK]".into())?;
    expect("/model/continuing_subword_prefix", "##".into())?;
    expect("/model/max_input_chars_per_word", 100.into())?;
    let map = t.pointer("/model/vocab").and_then(|v| v.as_object()).ok_or("tokenizer.json has no model.vocab")?;
    let mut tokens = vec![None; map.len()];
    for (tok, id) in map {
        let id = id.as_u64().ok_or("vocab id is not a number")? as usize;
        let slot = tokens.get_mut(id).ok_or("vocab ids are not dense")?;
        *slot = Some(tok.as_str());
    }
    let mut out = String::new();
    for t in tokens {
        let t = t.ok_or("vocab ids are not dense")?;
        if t.contains('\n') {
            return Err("vocab token contains a newline".into());
        }
        out.push_str(t);
        out.push('\n');
    }
    Ok(out)
}
}
