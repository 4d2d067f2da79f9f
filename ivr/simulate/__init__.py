"""`ivr simulate`: calls on virtual time through the production switchboard and router."""
