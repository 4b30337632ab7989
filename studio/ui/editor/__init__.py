"""The app editor: the model_config form with undo and auto-save, beside the Debug & Preview panel."""
