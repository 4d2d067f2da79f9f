"""Callbacks: calls the shop makes back to customers, from the queue, the website or voicemail."""
