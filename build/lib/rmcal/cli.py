def main():
    import importlib.resources, importlib.metadata
    print([e.name for e in importlib.metadata.entry_points(group="rmcal.providers")], importlib.resources.files("rmcal_templates").joinpath("a.txt.j2").read_text())
