"""Call recording for quality control: who is recorded, where files live, how long, who listens."""
