"""Business logic of review_app, one module per area (HackSoft styleguide: services).

acceptance: task acceptance; closing: final acceptance and retrospective; feedback:
feedback and improvement suggestions; archive: archiving and the knowledge base.
"""
