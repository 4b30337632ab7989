"""Debug & Preview: try a Chatbot or a Text generator while editing it, with streamed answers and stats."""
