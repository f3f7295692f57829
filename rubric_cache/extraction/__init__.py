"""Playbook → rubric draft: a deterministic parser for playbooks written as headed step lists, the local
LLM, or Claude. Every path ends in ``draft.build_draft``, which grounds each step's citation in the
playbook and validates the rubric; nothing here stores or activates anything."""
