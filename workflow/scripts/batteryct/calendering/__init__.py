"""Calendering: fitted process and structure-property laws of a calendering series.

A calendering series (sheet ``calendering.tsv``: loads, speeds, thicknesses, mass loading,
densities) and the CT metrics of the same samples become fitted laws with 95 % intervals:
porosity and kinematics (:mod:`.porosity`), compaction laws ranked by AICc and springback
(:mod:`.compaction`), the Hertz nip and relaxation through it (:mod:`.nip`), Bruggeman,
coordination number, ``d32`` and conductivity against pressure (:mod:`.structure`), all of
them per series (:func:`fit_calendering_series`). :func:`simulate_calendering_series` is a
virtual calender with known laws, against which every fit is checked.

Every fit returns rows with the columns :data:`FIT_COLUMNS`; the interval method and any
skip reason are in ``flags`` (:mod:`._fitting`). A law with at least as many parameters as
the series has points is not fitted: its rows say why.
"""

from ._fitting import FIT_COLUMNS
from .compaction import (
    LAWS,
    compare_compaction_laws,
    compressibility_exponential,
    compressibility_from_fit,
    compressibility_heckel,
    compressibility_kawakita,
    fit_exponential_law,
    fit_heckel,
    fit_kawakita,
    fit_kawakita_linear,
    fit_springback,
    porosity_exponential,
    porosity_heckel,
    porosity_kawakita,
    springback_gibson_ashby,
    springback_strain,
)
from .nip import (
    NipContact,
    fit_nip_relaxation,
    half_width_from_pressure,
    hertz_line_contact,
    nip_exit_porosity,
    nip_pressure_profile,
    relax_porosity,
)
from .porosity import (
    check_kinematics,
    compare_porosity,
    kinematic_porosity,
    porosity_from_loading,
    porosity_stderr,
    solid_density_rule_of_mixtures,
    true_strain,
)
from .series import PARAMETER_COLUMNS, SHEET_REQUIRED, CalenderingFits, fit_calendering_series
from .structure import (
    DRUCKER_PRAGER_CAP_REASON,
    CoordinationResult,
    coordination_number,
    fit_bruggeman,
    fit_conductivity_pressure,
    fit_coordination,
    fit_sauter_pressure,
)
from .virtual import TRUTH_COLUMNS, VirtualSeries, simulate_calendering_series

__all__ = [
    "FIT_COLUMNS",
    "PARAMETER_COLUMNS",
    "SHEET_REQUIRED",
    "TRUTH_COLUMNS",
    "LAWS",
    "DRUCKER_PRAGER_CAP_REASON",
    "solid_density_rule_of_mixtures",
    "porosity_from_loading",
    "porosity_stderr",
    "true_strain",
    "kinematic_porosity",
    "compare_porosity",
    "check_kinematics",
    "porosity_exponential",
    "porosity_heckel",
    "porosity_kawakita",
    "fit_exponential_law",
    "fit_heckel",
    "fit_kawakita",
    "fit_kawakita_linear",
    "compare_compaction_laws",
    "compressibility_exponential",
    "compressibility_heckel",
    "compressibility_kawakita",
    "compressibility_from_fit",
    "springback_strain",
    "springback_gibson_ashby",
    "fit_springback",
    "NipContact",
    "hertz_line_contact",
    "half_width_from_pressure",
    "nip_pressure_profile",
    "relax_porosity",
    "nip_exit_porosity",
    "fit_nip_relaxation",
    "CoordinationResult",
    "coordination_number",
    "fit_bruggeman",
    "fit_coordination",
    "fit_sauter_pressure",
    "fit_conductivity_pressure",
    "CalenderingFits",
    "fit_calendering_series",
    "VirtualSeries",
    "simulate_calendering_series",
]
