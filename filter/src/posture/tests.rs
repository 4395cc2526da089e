use super::*;

fn spec() -> PostureSpec {
    // No alarm (surge_min out of reach) unless a test asks for one.
    serde_json::from_str(r#"{"half_life_s":60,"rate_half_life_s":10,"rate_lookahead_s":0,"surge_min":1e6,"thresholds":{"scoped":2,"inquiry":4,"deferral":6,"refusal":8}}"#).unwrap()
}

fn attack() -> Signal {
    Signal { parts: vec![("prompt_attack".into(), 1.0)] }
}

#[test]
fn defaults_validate_and_bad_values_name_the_field() {
    let d: PostureSpec = serde_json::from_str("{}").unwrap();
    assert!(d.validate().is_empty());
    let bad = |j: &str| serde_json::from_str::<PostureSpec>(j).unwrap().validate().remove(0).0;
    assert_eq!(bad(r#"{"half_life_s":0}"#), "half_life_s");
    assert_eq!(bad(r#"{"thresholds":{"scoped":5,"inquiry":4}}"#), "thresholds.inquiry");
    assert_eq!(bad(r#"{"hysteresis":1.5}"#), "hysteresis");
    assert_eq!(bad(r#"{"weights":{"pii/emial":1}}"#), "weights.pii/emial");
    assert!(serde_json::from_str::<PostureSpec>(r#"{"weights":{"pii/*":0.5,"failed_open":2,"prompt_attack":3}}"#).unwrap().validate().is_empty());
    let all = serde_json::from_str::<PostureSpec>(r#"{"half_life_s":-1,"hysteresis":0,"weights":{"nope":1}}"#).unwrap().validate();
    let fields: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, vec!["half_life_s", "hysteresis", "weights.nope"], "every problem at once");
    assert!(serde_json::from_str::<PostureSpec>(r#"{"half_lif_s":1}"#).is_err());
}

#[test]
fn weights_by_type_then_family_then_one() {
    let s: PostureSpec = serde_json::from_str(r#"{"weights":{"pii/*":0.5,"pii/secret":3}}"#).unwrap();
    assert_eq!((s.weight("pii/secret"), s.weight("pii/email"), s.weight("prompt_attack")), (3.0, 0.5, 1.0));
}

#[test]
fn pressure_halves_every_half_life() {
    let s = spec();
    let (a, _) = PostureState::default().step(&s, 0, &Signal { parts: vec![("prompt_attack".into(), 4.0)] });
    let (b, _) = a.step(&s, 60_000, &Signal::default());
    assert!((b.pressure - 2.0).abs() < 1e-9, "{}", b.pressure);
    let (c, _) = b.step(&s, 180_000, &Signal::default());
    assert!((c.pressure - 0.5).abs() < 1e-9);
    assert!((c.sources["prompt_attack"] - 0.5).abs() < 1e-9);
    assert_eq!((c.screenings, c.signals), (3, 1));
}

#[test]
fn an_attack_wave_walks_up_the_modes_and_decay_walks_back_down_with_hysteresis() {
    let s = spec();
    let mut st = PostureState::default();
    let mut seen = vec![st.mode];
    for i in 0..9 {
        let (n, t) = st.step(&s, i * 100, &attack());
        if let Some(t) = t {
            assert!(t.to > t.from);
            assert_eq!(t.drivers[0].0, "prompt_attack");
            seen.push(t.to);
        }
        st = n;
    }
    assert_eq!(seen, PostureMode::ALL.to_vec());
    // Quiet traffic: the pressure decays from about 9. With hysteresis 0.5 refusal (8) holds
    // until the score is below 4, deferral (6) until below 3, and so on.
    let mut down = Vec::new();
    let mut t = 1_000;
    while st.mode != PostureMode::Full {
        t += 5_000;
        let (n, tr) = st.step(&s, t, &Signal::default());
        if let Some(tr) = tr {
            down.push((tr.to, round3(tr.reading.score)));
        }
        st = n;
    }
    let modes: Vec<_> = down.iter().map(|(m, _)| *m).collect();
    // One mode at a time, each left only below half its threshold.
    assert_eq!(modes, vec![PostureMode::Deferral, PostureMode::Inquiry, PostureMode::Scoped, PostureMode::Full], "{down:?}");
    for ((_, score), threshold) in down.iter().zip([8.0, 6.0, 4.0, 2.0]) {
        assert!(*score < threshold * 0.5 && *score > threshold * 0.5 - 0.6, "{down:?}");
    }
    // Refusal was left only below half its threshold, not at 7.9.
    assert!(down[0].1 < 4.0, "{down:?}");
}

#[test]
fn the_rate_term_raises_the_score_while_pressure_builds() {
    let mut s = spec();
    s.rate_lookahead_s = 30.0;
    let (a, _) = PostureState::default().step(&s, 0, &attack());
    let (b, _) = a.step(&s, 1000, &attack());
    let r = b.reading(&s);
    assert!(r.trend > 0.0 && r.score > r.pressure, "{r:?}");
    // Long after, the trend is negative and adds nothing.
    let (c, _) = b.step(&s, 100_000, &Signal::default());
    let rc = c.reading(&s);
    assert!(rc.trend < 0.0 && (rc.score - rc.pressure).abs() < 1e-12);
}

#[test]
fn a_surge_over_the_baseline_raises_the_alarm() {
    let mut s = spec();
    s.surge_min = 1.5;
    s.surge_factor = 3.0;
    s.thresholds = Thresholds { scoped: 50.0, inquiry: 60.0, deferral: 70.0, refusal: 80.0 };
    let (a, t1) = PostureState::default().step(&s, 0, &attack());
    assert!(t1.is_none());
    let (b, t2) = a.step(&s, 10, &attack());
    let t2 = t2.unwrap();
    assert!(t2.alarm && t2.alarm_changed && b.alarm);
    assert_eq!(b.mode, PostureMode::Scoped, "the alarm floor");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let store = LocalStore::default();
    let s: PostureSpec = serde_json::from_str(r#"{"half_life_s":1e9}"#).unwrap();
    // A writer that reads, then loses its write to another, must retry on the newer state.
    let (first, _) = record(&store, &s, Some("p"), 0, &attack()).unwrap();
    let (_, cas) = store.load(&key(Some("p"))).unwrap().unwrap();
    assert!(store.store(&key(Some("p")), &first.step(&s, 1, &attack()).0.to_bytes(), cas).unwrap());
    assert!(!store.store(&key(Some("p")), &first.to_bytes(), cas).unwrap(), "a stale token must lose");
    for i in 0..10 {
        record(&store, &s, Some("p"), 2 + i, &attack()).unwrap();
    }
    let st = load(&store, Some("p")).unwrap();
    assert_eq!(st.screenings, 12);
    // A store whose writes always lose gives up with an error, never a silent drop.
    struct Losing(LocalStore);
    impl PostureStore for Losing {
        fn load(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, String> {
            self.0.load(key)
        }
        fn store(&self, key: &str, value: &[u8], cas: u32) -> Result<bool, String> {
            if cas == 0 {
                return self.0.store(key, value, 0);
            }
            Ok(false)
        }
    }
    let losing = Losing(LocalStore::default());
    assert!(record(&losing, &s, None, 1, &attack()).unwrap_err().contains("lost"));
    assert!((st.pressure - 12.0).abs() < 1e-6, "{}", st.pressure);
    assert_eq!(load(&store, None).unwrap(), PostureState::default());
}
