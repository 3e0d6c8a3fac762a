"""The rules decided once and read by the build and every view: which figures are
hidden (privacy) and CDE's Dashboard tables (levels)."""
