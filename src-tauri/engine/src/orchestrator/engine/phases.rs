//! What a scheduler phase is called elsewhere: its prompt phase, the store's phase kind, the
//! phase of a stored run and its name in notices.

use crate::agents::prompts::PromptPhase;
use crate::model::{PhaseKind, PhaseRun};
use crate::scheduler::PhaseId;

pub(super) fn prompt_phase(plan: &crate::scheduler::Plan, phase: PhaseId) -> Option<PromptPhase> {
    Some(match phase {
        PhaseId::Preamble { index } => {
            PromptPhase::from_role(plan.preamble.get(index as usize)?.role)
        }
        PhaseId::Design { .. } => PromptPhase::Design,
        PhaseId::Build { .. } => PromptPhase::Build,
        PhaseId::Review { .. } => PromptPhase::Review,
        PhaseId::Fix { .. } => PromptPhase::Fix,
        PhaseId::Qa { .. } => PromptPhase::Qa,
        PhaseId::Recheck { .. } => PromptPhase::Recheck,
        // rule 9: planning the next milestone is a plan phase, with its own prompt.
        PhaseId::PlanMilestone { .. } => PromptPhase::Plan,
        PhaseId::Verify { .. } => return None,
    })
}

pub(super) fn model_kind(plan: &crate::scheduler::Plan, phase: PhaseId) -> PhaseKind {
    match phase {
        PhaseId::Preamble { index } => match plan.preamble.get(index as usize).map(|p| p.role) {
            Some(crate::model::Role::Requirements) => PhaseKind::Requirements,
            Some(crate::model::Role::Plan) => PhaseKind::Plan,
            _ => PhaseKind::Discovery,
        },
        PhaseId::Design { .. } => PhaseKind::Design,
        PhaseId::Build { .. } => PhaseKind::Build,
        PhaseId::Review { .. } => PhaseKind::Review,
        PhaseId::Fix { .. } => PhaseKind::Fix,
        PhaseId::Qa { .. } => PhaseKind::Qa,
        PhaseId::Recheck { .. } => PhaseKind::Recheck,
        PhaseId::Verify { .. } => PhaseKind::Verify,
        PhaseId::PlanMilestone { .. } => PhaseKind::Plan,
    }
}

/// The phase id of a stored run (preamble runs by their position in the plan).
pub(super) fn phase_of_run(plan: &crate::scheduler::Plan, run: &PhaseRun) -> Option<PhaseId> {
    let b = run.batch;
    Some(match run.kind {
        PhaseKind::Design => PhaseId::Design { batch: b? },
        PhaseKind::Build => PhaseId::Build { batch: b? },
        PhaseKind::Review => PhaseId::Review { batch: b? },
        PhaseKind::Fix => PhaseId::Fix { batch: b? },
        PhaseKind::Qa => PhaseId::Qa { batch: b? },
        PhaseKind::Recheck => PhaseId::Recheck { batch: b? },
        PhaseKind::Verify => PhaseId::Verify { sync: b? },
        // A plan run with a number is `plan(m)` of milestone m (rule 9).
        PhaseKind::Plan if b.is_some() => PhaseId::PlanMilestone { milestone: b? },
        k => {
            let role = k.role()?;
            let index = plan.preamble.iter().position(|p| p.role == role)?;
            PhaseId::Preamble {
                index: index as u32,
            }
        }
    })
}

pub(super) fn phase_name(plan: &crate::scheduler::Plan, phase: PhaseId) -> String {
    match phase {
        PhaseId::Preamble { .. } => prompt_phase(plan, phase)
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "preamble".into()),
        other => other.to_string(),
    }
}
