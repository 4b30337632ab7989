"""Graph apps (Workflow and Chatflow) in the GUI: DSL import, the graph overview, runs, traces and history."""
