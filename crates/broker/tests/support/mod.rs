//! What the seeded simulations share.

#![allow(dead_code)]

/// splitmix64: small, seeded, and the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// `TABMQ_SIM_SEED`, to replay one seed alone (native only: a browser has no environment).
pub fn env_seed() -> Option<u64> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("TABMQ_SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
    }
    #[cfg(target_arch = "wasm32")]
    {
        None
    }
}
