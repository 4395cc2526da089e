//! The int8 weight blob: large tensors stored as int8 with one f32 scale per channel,
//! dequantised once at load (`x = q * scale[c]`, exactly what the ONNX file's DequantizeLinear
//! computes), so the module carries a quarter of the f32 bytes and tract computes in f32.
//!
//! Layout, little-endian: `PQ8\0`, tensor count, then per tensor: name length and UTF-8 name,
//! rank and dims, channel axis, scale count and f32 scales, then the int8 codes in row-major order.
//! Shared by the build script (writer) and the runtime (reader).

use tract_nnef::prelude::Tensor;

const MAGIC: &[u8; 4] = b"PQ8\0";

pub struct Q8Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub axis: usize,
    pub scales: Vec<f32>,
    pub codes: Vec<i8>,
}

/// Finds the channel axis whose symmetric per-channel int8 grid reproduces `values` exactly.
pub fn quantize(name: &str, shape: &[usize], values: &[f32]) -> Option<Q8Tensor> {
    for axis in 0..shape.len() {
        let inner: usize = shape[axis + 1..].iter().product();
        let dim = shape[axis];
        let mut max = vec![0f32; dim];
        for (i, v) in values.iter().enumerate() {
            let c = (i / inner) % dim;
            max[c] = max[c].max(v.abs());
        }
        let scales: Vec<f32> = max.iter().map(|m| if *m == 0.0 { 1.0 } else { m / 127.0 }).collect();
        let mut exact = true;
        let codes: Vec<i8> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = scales[(i / inner) % dim];
                let q = (v / s).round().clamp(-127.0, 127.0);
                exact &= q * s == *v;
                q as i8
            })
            .collect();
        if exact {
            return Some(Q8Tensor { name: name.to_string(), shape: shape.to_vec(), axis, scales, codes });
        }
    }
    None
}

pub fn write(ts: &[Q8Tensor]) -> Vec<u8> {
    let mut o = MAGIC.to_vec();
    let u32le = |o: &mut Vec<u8>, v: usize| o.extend((v as u32).to_le_bytes());
    u32le(&mut o, ts.len());
    for t in ts {
        u32le(&mut o, t.name.len());
        o.extend(t.name.as_bytes());
        u32le(&mut o, t.shape.len());
        for d in &t.shape {
            u32le(&mut o, *d);
        }
        u32le(&mut o, t.axis);
        u32le(&mut o, t.scales.len());
        for s in &t.scales {
            o.extend(s.to_le_bytes());
        }
        o.extend(t.codes.iter().map(|&x| x as u8));
    }
    o
}

struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.p.checked_add(n).filter(|e| *e <= self.b.len()).ok_or("int8 blob is truncated")?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<usize, String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a) as usize)
    }
}

/// Reads and dequantises every tensor of the blob.
pub fn read(b: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let mut c = Cursor { b, p: 0 };
    if c.take(4)? != MAGIC {
        return Err("not an int8 weight blob".into());
    }
    let n = c.u32()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = c.u32()?;
        let name = std::str::from_utf8(c.take(len)?).map_err(|_| "tensor name is not UTF-8")?.to_string();
        let rank = c.u32()?;
        let shape = (0..rank).map(|_| c.u32()).collect::<Result<Vec<_>, _>>()?;
        let axis = c.u32()?;
        let dim = *shape.get(axis).ok_or("channel axis out of range")?;
        let ns = c.u32()?;
        if ns != dim {
            return Err(format!("tensor {name}: {ns} scales for {dim} channels"));
        }
        let scales: Vec<f32> = c
            .take(4 * ns)?
            .chunks_exact(4)
            .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .collect();
        let len: usize = shape.iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let codes = c.take(len)?;
        let values: Vec<f32> = codes.iter().enumerate().map(|(i, &q)| f32::from(q as i8) * scales[(i / inner) % dim]).collect();
        let t = Tensor::from_shape(&shape, &values).map_err(|e| format!("tensor {name}: {e}"))?;
        out.push((name, t));
    }
    Ok(out)
}
