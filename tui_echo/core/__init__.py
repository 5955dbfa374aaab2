"""The lab's core: settings, tasks, topologies, training and records. No Textual in here."""
