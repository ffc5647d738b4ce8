"""Workforce planning: Erlang calculators, staffing a day, forecasting and shift scheduling."""
