"""Members and the rules they share: onboarding, language, flood control, catalogues, menus,
roles and the audit log."""
