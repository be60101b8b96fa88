"""The problem detector: fans in every monitor's reports and feeds every exporter."""
