"""Application walkthroughs (`shorts-engine demo`, `shorts-engine sample`): whole flows driven
through the services, above them and beside the edges; the CLI imports them, nothing else."""
