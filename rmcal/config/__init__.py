"""The admin's YAML file (and the HR exports it names) turned into a frozen ``rmcal.model.Config``.

One job per module, in the order a load runs: ``yamlsource`` parses YAML into nodes that remember
their line and key path; ``loader`` walks the file's sections; ``values`` is the grammar of one
value (durations, cadences, zones, days, hours, slots, URLs, e-mails); ``settings`` merges the
``defaults`` -> cohort -> pair cascade; ``hrcsv`` reads pairs from an HR export; ``leads`` resolves
the leads' scopes; ``checks`` runs the rules that need several pairs at once. Callers import from
here; the modules behind are free to move.
"""

from rmcal.config.hrcsv import CSV_COLUMNS
from rmcal.config.loader import FORCE_HINT, KEY_TABLES, load_config

__all__ = ["CSV_COLUMNS", "FORCE_HINT", "KEY_TABLES", "load_config"]
