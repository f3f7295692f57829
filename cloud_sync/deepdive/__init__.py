"""The post-call deep dive (Path B): a long-context model reads the whole call against the tenant's
rubric, and a grounding verifier checks every claim before it is stored."""
