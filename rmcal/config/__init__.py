"""The admin's YAML file (and the HR exports it names) turned into a frozen ``rmcal.model.Config``.

One job per module, in the order a load runs: ``files`` reads a named file safely (a regular
file, within its size cap, UTF-8 without control characters); ``yamlsource`` parses YAML, within
depth and alias budgets, into nodes that remember their line and key path; ``loader`` walks the
file's sections; ``text`` and ``values`` are the grammar of one value (names, e-mails, URLs; and
durations, cadences, zones, days, hours, slots); ``settings`` merges the ``defaults`` -> cohort ->
pair cascade; ``hrcsv`` reads pairs from an HR export; ``leads`` resolves the leads' scopes;
``checks`` runs the rules that need several pairs at once. Callers import from here; the modules
behind are free to move (``files`` is also imported by other readers of outside files).
"""

from rmcal.config.hrcsv import CSV_COLUMNS
from rmcal.config.loader import FORCE_HINT, KEY_TABLES, load_config

__all__ = ["CSV_COLUMNS", "FORCE_HINT", "KEY_TABLES", "load_config"]
