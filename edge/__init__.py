"""The on-device agent. Importing it needs numpy alone; heavy parts load on first use."""
