"""Transfer learning (issue 14): plan what to freeze (planner.py), read a person's images (data.py), and fine-tune
for real within the resource budget (finetune.py), with the bundled offline demo (demo.py)."""
