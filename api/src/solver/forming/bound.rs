//! The bound on the best score: the linear relaxation of the set-partitioning model, by column
//! generation, certified by Lagrangian duality.
//!
//! # Model
//! One column per feasible group (three schools, or four in a class that must have groups of
//! four): schools of one class (phase, unless phases mix), no two of one local authority, no
//! forbidden pair, and every pin wholly in or wholly out. Each school is covered exactly once,
//! and each class has exactly its number of groups of four; the objective is the summed score.
//!
//! # Why the bound is valid at every step
//! For any duals `y` (one per school) and `w` (one per class's count of groups of four), and any
//! grouping `x` that keeps the hard rules,
//! `score(x) = Σ_j (c_j − y(j) − w·quad_j) x_j + Σ_i y_i + Σ_c fours_c w_c`, and a class has
//! exactly `groups_c − fours_c` groups of three and `fours_c` of four, so
//! `score(x) ≤ Σ_i y_i + Σ_c fours_c w_c + Σ_c (groups_c − fours_c)·max(0, d3_c) + fours_c·max(0, d4_c)`
//! where `d3_c`, `d4_c` are the best reduced costs of the class's groups of three and four
//! (found by pricing every feasible group). That holds for the duals of any restricted master
//! (or any guess), so the bound never rests on the master being complete or on the interior-point
//! solver's accuracy: only pricing must be exhaustive. When it converges (no column prices above
//! zero) the bound is the LP optimum. A pricing cut short by the deadline gives no bound; the
//! best of the complete ones is kept, and the combinatorial bound is the floor of last resort.
//!
//! # Pricing
//! A depth-first search over the class's units (a loose school, or a whole pin), ordered by
//! `cap − y` per school, where `cap` is the most of a school's priorities that any possible
//! partner covers (so a school's share of a group's score is at most `cap`): a branch is cut when
//! even filling its free places from the best units left (fractionally) cannot beat the
//! threshold. Leaves are scored with the search's bitmask scoring ([`Core::score`]).

use std::collections::HashSet;
use std::time::Instant;

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver as _, SolverStatus, SupportedConeT};

use super::Core;

/// A class of schools that group among themselves.
pub(super) struct BoundClass {
    pub members: Vec<u32>,
    pub groups: usize,
    pub fours: usize,
}

/// What the LP bound reached.
#[derive(Clone, Debug)]
pub(super) struct LpBound {
    /// A valid upper bound on any grouping's score (not yet floored).
    pub value: f64,
    /// Whether column generation converged (the value is the LP optimum) or proved the
    /// incumbent optimal.
    pub complete: bool,
}

/// A loose school or a whole pin, as the pricing places them.
#[derive(Clone, Copy)]
struct Unit {
    members: [u32; 4],
    len: u8,
    /// Σ (cap − y) over the members: the most the unit adds to a reduced cost.
    value: f64,
    /// `value / len`.
    ratio: f64,
    /// Σ y over the members.
    y: f64,
}

/// A column: its members (sorted) and size.
type Column = ([u32; 4], u8);

/// Reduced costs at or below this count as zero.
const EPS: f64 = 1e-7;

/// The most new columns one pricing round adds per class and size.
fn max_new(n: usize) -> usize {
    (2 * n).clamp(50, 1_500)
}

pub(super) struct Pricing<'a, const W: usize> {
    pub core: &'a Core<'a, W>,
    pub classes: &'a [BoundClass],
    /// Each school's pin partners (itself included) when pinned.
    pub pin_of: &'a [Option<usize>],
    pub pins: &'a [Vec<usize>],
    pub cap: &'a [u32],
    pub deadline: Instant,
}

/// One pricing round's findings: per class, the best reduced costs of groups of three and four
/// (`None` when cut short), and the columns worth adding.
struct Priced {
    best3: Vec<Option<f64>>,
    best4: Vec<Option<f64>>,
    columns: Vec<(f64, Column)>,
    complete: bool,
}

struct Dfs<'p, 'a, const W: usize> {
    pricing: &'p Pricing<'a, W>,
    units: Vec<Unit>,
    k: u8,
    /// The quads' dual (0 for groups of three).
    w: f64,
    chosen: [u32; 4],
    len: u8,
    best: f64,
    found: Vec<(f64, Column)>,
    keep: usize,
    leaves: u64,
    stopped: bool,
}

impl<const W: usize> Dfs<'_, '_, W> {
    /// The most that `slots` more places filled from units `from..` can add (fractional: each
    /// unit at its ratio, in ratio order), or `None` when too few places are left.
    fn fill(&self, from: usize, slots: u8) -> Option<f64> {
        let mut left = slots;
        let mut total = 0.0;
        for u in &self.units[from..] {
            if left == 0 {
                break;
            }
            let take = left.min(u.len);
            total += u.ratio * f64::from(take);
            left -= take;
        }
        (left == 0).then_some(total)
    }

    fn threshold(&self) -> f64 {
        // Anything that cannot reach half the best so far is cut: the best itself stays exact
        // (and so max(0, best), which is all the bound needs), while the round still gathers
        // many good columns.
        (0.5 * self.best).max(0.0)
    }

    fn go(&mut self, from: usize, partial: f64, ysum: f64) {
        if self.stopped {
            return;
        }
        for u in from..self.units.len() {
            let slots = self.k - self.len;
            let Some(fill) = self.fill(u, slots) else {
                return;
            };
            if partial + fill - self.w <= self.threshold() + EPS {
                return;
            }
            let unit = self.units[u];
            if unit.len > slots {
                continue;
            }
            let core = self.pricing.core;
            let clash = self.chosen[..self.len as usize]
                .iter()
                .any(|&a| unit.members[..unit.len as usize].iter().any(|&b| core.clash(a, b)));
            if clash {
                continue;
            }
            let before = self.len;
            for &m in &unit.members[..unit.len as usize] {
                self.chosen[self.len as usize] = m;
                self.len += 1;
            }
            if self.len == self.k {
                self.leaves += 1;
                if self.leaves.is_multiple_of(1 << 14) && Instant::now() >= self.pricing.deadline {
                    self.stopped = true;
                    return;
                }
                let members = &self.chosen[..self.len as usize];
                let rc = f64::from(core.score(members)) - ysum - unit.y - self.w;
                if rc > self.best {
                    self.best = rc;
                }
                if rc > EPS {
                    let mut column = [0u32; 4];
                    column[..members.len()].copy_from_slice(members);
                    column[..members.len()].sort_unstable();
                    self.found.push((rc, (column, self.k)));
                    if self.found.len() >= 4 * self.keep {
                        keep_best(&mut self.found, self.keep);
                    }
                }
            } else {
                self.go(u + 1, partial + unit.value, ysum + unit.y);
            }
            self.len = before;
        }
    }
}

fn keep_best(found: &mut Vec<(f64, Column)>, keep: usize) {
    found.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    found.dedup_by(|a, b| a.1 == b.1);
    found.truncate(keep);
}

impl<const W: usize> Pricing<'_, W> {
    fn units(&self, class: &BoundClass, y: &[f64]) -> Vec<Unit> {
        let mut units = Vec::with_capacity(class.members.len());
        let mut seen_pins = HashSet::new();
        for &i in &class.members {
            let members: Vec<u32> = match self.pin_of[i as usize] {
                Some(p) => {
                    if !seen_pins.insert(p) {
                        continue;
                    }
                    self.pins[p].iter().map(|&m| m as u32).collect()
                }
                None => vec![i],
            };
            let mut unit = Unit {
                members: [0; 4],
                len: members.len().min(4) as u8,
                value: 0.0,
                ratio: 0.0,
                y: 0.0,
            };
            for (slot, &m) in members.iter().take(4).enumerate() {
                unit.members[slot] = m;
                unit.value += f64::from(self.cap[m as usize]) - y[m as usize];
                unit.y += y[m as usize];
            }
            unit.ratio = unit.value / f64::from(unit.len);
            units.push(unit);
        }
        units.sort_by(|a, b| b.ratio.total_cmp(&a.ratio).then(a.members.cmp(&b.members)));
        units
    }

    fn price(&self, y: &[f64], w: &[f64]) -> Priced {
        let n = y.len();
        let mut priced = Priced {
            best3: vec![None; self.classes.len()],
            best4: vec![None; self.classes.len()],
            columns: Vec::new(),
            complete: true,
        };
        for (c, class) in self.classes.iter().enumerate() {
            let units = self.units(class, y);
            for k in [3u8, 4] {
                let wanted = if k == 3 {
                    class.groups - class.fours
                } else {
                    class.fours
                };
                if wanted == 0 {
                    continue;
                }
                let mut dfs = Dfs {
                    pricing: self,
                    units: units.clone(),
                    k,
                    w: if k == 4 { w[c] } else { 0.0 },
                    chosen: [0; 4],
                    len: 0,
                    best: f64::NEG_INFINITY,
                    found: Vec::new(),
                    keep: max_new(n),
                    leaves: 0,
                    stopped: false,
                };
                dfs.go(0, 0.0, 0.0);
                if dfs.stopped {
                    priced.complete = false;
                    return priced;
                }
                keep_best(&mut dfs.found, dfs.keep);
                priced.columns.append(&mut dfs.found);
                // No feasible group of this size (best stays −∞): the class cannot be grouped,
                // and any bound is valid; 0 keeps the arithmetic finite.
                let best = if dfs.best.is_finite() { dfs.best } else { 0.0 };
                if k == 3 {
                    priced.best3[c] = Some(best);
                } else {
                    priced.best4[c] = Some(best);
                }
            }
        }
        priced
    }

    /// The Lagrangian bound of duals `y`, `w` from a complete pricing.
    fn lagrangian(&self, y: &[f64], w: &[f64], priced: &Priced) -> f64 {
        let mut bound: f64 = y.iter().sum();
        for (c, class) in self.classes.iter().enumerate() {
            bound += class.fours as f64 * w[c];
            bound += (class.groups - class.fours) as f64 * priced.best3[c].unwrap_or(0.0).max(0.0);
            bound += class.fours as f64 * priced.best4[c].unwrap_or(0.0).max(0.0);
        }
        bound
    }

    /// Column generation from the `incumbent` grouping (school indices) until the LP converges,
    /// the incumbent's score is proven optimal, or the deadline. `None` when not even one
    /// pricing round finished in time.
    pub(super) fn solve(&self, incumbent: &[Vec<usize>]) -> Option<LpBound> {
        let n = self.core.la.len();
        let incumbent_score: u64 = incumbent
            .iter()
            .map(|g| {
                let m: Vec<u32> = g.iter().map(|&i| i as u32).collect();
                u64::from(self.core.score(&m))
            })
            .sum();
        // The first duals: each school's own share of the incumbent's score.
        let mut y = vec![0.0; n];
        for g in incumbent {
            for &i in g {
                let others: Vec<usize> = g.iter().copied().filter(|&j| j != i).collect();
                let mut union = [0u64; W];
                for &j in &others {
                    for (u, s) in union.iter_mut().zip(&self.core.s[j]) {
                        *u |= s;
                    }
                }
                y[i] = f64::from(super::and_count(&self.core.p[i], &union));
            }
        }
        let mut w = vec![0.0; self.classes.len()];
        let mut pool: Vec<Column> = Vec::new();
        let mut in_pool: HashSet<Column> = HashSet::new();
        for g in incumbent {
            let mut column = [0u32; 4];
            for (slot, &i) in g.iter().take(4).enumerate() {
                column[slot] = i as u32;
            }
            column[..g.len().min(4)].sort_unstable();
            let column = (column, g.len().min(4) as u8);
            if in_pool.insert(column) {
                pool.push(column);
            }
        }
        let mut best: Option<f64> = None;
        let proven = |bound: f64| (bound + 1e-6).floor() <= incumbent_score as f64;
        loop {
            if Instant::now() >= self.deadline {
                return best.map(|value| LpBound { value, complete: false });
            }
            let priced = self.price(&y, &w);
            if !priced.complete {
                return best.map(|value| LpBound { value, complete: false });
            }
            let bound = self.lagrangian(&y, &w, &priced);
            let value = best.map_or(bound, |b: f64| b.min(bound));
            best = Some(value);
            let converged = priced.columns.iter().all(|(rc, _)| *rc <= 1e-6);
            if converged || proven(value) {
                return Some(LpBound { value, complete: true });
            }
            let mut added = 0;
            for &(_, column) in &priced.columns {
                if in_pool.insert(column) {
                    pool.push(column);
                    added += 1;
                }
            }
            if added == 0 {
                // Every column that prices above zero is in the master already: the duals are
                // its optimum to the interior point's tolerance, and the bound is the LP's.
                let worst = priced.columns.iter().map(|c| c.0).fold(0.0, f64::max);
                return Some(LpBound {
                    value,
                    complete: worst < 1e-3,
                });
            }
            match self.master(&pool) {
                Some((dy, dw)) => {
                    y = dy;
                    w = dw;
                }
                None => return Some(LpBound { value, complete: false }),
            }
        }
    }

    /// Solves the restricted master (with an artificial column per row, so it is always
    /// feasible) and returns its duals: one per school, one per class's count of groups of four.
    fn master(&self, pool: &[Column]) -> Option<(Vec<f64>, Vec<f64>)> {
        let n = self.core.la.len();
        let four_rows: Vec<usize> = (0..self.classes.len()).filter(|&c| self.classes[c].fours > 0).collect();
        let mut quad_row = vec![usize::MAX; n];
        for (r, &c) in four_rows.iter().enumerate() {
            for &i in &self.classes[c].members {
                quad_row[i as usize] = n + r;
            }
        }
        let rows = n + four_rows.len();
        let vars = pool.len() + rows;
        let big = 1.0 + 2.0 * self.cap.iter().map(|&c| f64::from(c)).fold(0.0, f64::max) * 4.0;
        // The matrix is [A_eq; −I]: each variable's column has its rows of A_eq, then −1 at
        // row `rows + var` for x ≥ 0.
        let mut q = Vec::with_capacity(vars);
        let mut colptr = Vec::with_capacity(vars + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        let mut add = |var: usize, cost: f64, mut entries: Vec<usize>| {
            entries.sort_unstable();
            q.push(cost);
            colptr.push(rowval.len());
            for r in entries {
                rowval.push(r);
                nzval.push(1.0);
            }
            rowval.push(rows + var);
            nzval.push(-1.0);
        };
        for (var, (column, len)) in pool.iter().enumerate() {
            let members = &column[..*len as usize];
            let mut entries: Vec<usize> = members.iter().map(|&i| i as usize).collect();
            if *len == 4 {
                entries.push(quad_row[members[0] as usize]);
            }
            add(var, -f64::from(self.core.score(members)), entries);
        }
        for r in 0..rows {
            // An artificial column scores −big: a penalty (q = +big, as Clarabel minimises −score).
            add(pool.len() + r, big, vec![r]);
        }
        colptr.push(rowval.len());
        let a = CscMatrix::new(rows + vars, vars, colptr, rowval, nzval);
        let mut b = vec![1.0; n];
        b.extend(four_rows.iter().map(|&c| self.classes[c].fours as f64));
        b.extend(std::iter::repeat_n(0.0, vars));
        let z = max_duals(&q, a, &b, rows, self.deadline)?;
        let y = z[..n].to_vec();
        let mut w = vec![0.0; self.classes.len()];
        for (r, &c) in four_rows.iter().enumerate() {
            w[c] = z[n + r];
        }
        Some((y, w))
    }
}

/// Solves `min q·x` s.t. `A x + s = b`, `s` in the zero cone for the first `rows` rows and in the
/// nonnegative cone for the rest, and returns the duals of the first `rows` rows as duals of the
/// maximisation `max (−q)·x`. Clarabel's dual is `max −b·z` s.t. `q + Aᵀz = 0`, `z` in the dual
/// cone; with `c = −q` and the rows `−x ≤ 0` that reads `A_eqᵀ z_eq = c + z_x ≥ c`: `z_eq` itself
/// is dual feasible for the maximisation (each column's duals cover its score), and its
/// objective `b_eq·z_eq` is the maximum. So no sign changes (pinned by a test below).
fn max_duals(q: &[f64], a: CscMatrix<f64>, b: &[f64], rows: usize, deadline: Instant) -> Option<Vec<f64>> {
    let vars = q.len();
    let p = CscMatrix::<f64>::zeros((vars, vars));
    let cones = [
        SupportedConeT::ZeroConeT(rows),
        SupportedConeT::NonnegativeConeT(b.len() - rows),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .time_limit(
            deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64()
                .max(0.01),
        )
        .build()
        .ok()?;
    let mut solver = DefaultSolver::new(&p, q, &a, b, &cones, settings).ok()?;
    solver.solve();
    if !matches!(
        solver.solution.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved
    ) {
        return None;
    }
    Some(solver.solution.z[..rows].to_vec())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_masters_duals_are_those_of_the_maximisation_with_their_own_sign() {
        // max 3x₁ + 2x₂ + x₃ s.t. x₁ + x₂ = 1, x₂ + x₃ = 1, x ≥ 0. Optimum x = (1, 0, 1), score
        // 4; the dual min y₁ + y₂ s.t. y₁ ≥ 3, y₁ + y₂ ≥ 2, y₂ ≥ 1 has its optimum at (3, 1).
        let q = [-3.0, -2.0, -1.0];
        // Rows: the two equalities, then −x ≤ 0 per variable (column-major).
        let a = CscMatrix::new(
            5,
            3,
            vec![0, 2, 5, 7],
            vec![0, 2, 0, 1, 3, 1, 4],
            vec![1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0],
        );
        let b = [1.0, 1.0, 0.0, 0.0, 0.0];
        let deadline = Instant::now() + Duration::from_secs(10);
        let y = max_duals(&q, a, &b, 2, deadline).unwrap();
        assert!((y[0] - 3.0).abs() < 1e-6 && (y[1] - 1.0).abs() < 1e-6, "{y:?}");
    }
}
