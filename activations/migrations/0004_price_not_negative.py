"""Prices and reservations are never negative (issue 12, finding 5).

Adding the constraints changes no row. A database that already holds a negative price (an
offer listed below zero and bought before this) stops here with the rows to correct, rather
than with the database's bare constraint error.
"""

from django.db import migrations, models


def refuse_negative_prices(apps, schema_editor):
    Activation = apps.get_model("activations", "Activation")
    Reservation = apps.get_model("activations", "Reservation")
    activations = list(Activation.objects.filter(price__lt=0).values_list("pk", flat=True)[:20])
    reservations = Reservation.objects.filter(amount__lt=0)
    if activations or reservations.exists():
        raise RuntimeError(
            f"Negative prices found (activations {activations or 'none'}; "
            f"{reservations.count()} reservations). Correct the prices (the provider's real "
            "charge, or 0) and delete those reservations, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("activations", "0003_report_covering_index")]

    operations = [
        migrations.RunPython(refuse_negative_prices, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="activation",
            constraint=models.CheckConstraint(
                condition=models.Q(price__gte=0), name="activation_price_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="reservation",
            constraint=models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="reservation_amount_not_negative"
            ),
        ),
    ]
