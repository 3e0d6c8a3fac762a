"""Views: the chart catalogue (what each chart loads, how it draws, its words) and
the presenter's deck of views. Above metrics and figures; below the app."""
