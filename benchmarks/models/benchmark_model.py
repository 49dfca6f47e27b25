"""
Python model 'benchmark_model.py'
Translated using PySD
"""

from pathlib import Path

import numpy as np
from pysd import Component
from pysd.py_backend.functions import ramp, step
from pysd.py_backend.lookups import HardcodedLookups
from pysd.py_backend.statefuls import Delay, Integ, Smooth

__pysd_version__ = "3.14.3"

__data = {"scope": None, "time": lambda: 0}

_root = Path(__file__).parent


component = Component()

#######################################################################
#                          CONTROL VARIABLES                          #
#######################################################################

_control_vars = {
    "initial_time": lambda: 0,
    "final_time": lambda: 40,
    "time_step": lambda: 0.0625,
    "saveper": lambda: 1,
}


def _init_outer_references(data):
    for key in data:
        __data[key] = data[key]


@component.add(name="Time")
def time():
    """
    Current time of the model.
    """
    return __data["time"]()


@component.add(
    name="INITIAL TIME", units="Year", comp_type="Constant", comp_subtype="Normal"
)
def initial_time():
    """
    Start.
    """
    return __data["time"].initial_time()


@component.add(
    name="FINAL TIME", units="Year", comp_type="Constant", comp_subtype="Normal"
)
def final_time():
    """
    End.
    """
    return __data["time"].final_time()


@component.add(
    name="TIME STEP",
    units="Year",
    limits=(0.0, np.nan),
    comp_type="Constant",
    comp_subtype="Normal",
)
def time_step():
    """
    Time step.
    """
    return __data["time"].time_step()


@component.add(
    name="SAVEPER",
    units="Year",
    limits=(0.0, np.nan),
    comp_type="Constant",
    comp_subtype="Normal",
)
def saveper():
    """
    Save period.
    """
    return __data["time"].saveper()


#######################################################################
#                           MODEL VARIABLES                           #
#######################################################################


@component.add(
    name="Potential Adopters",
    units="firms",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_potential_adopters": 1},
    other_deps={
        "_integ_potential_adopters": {
            "initial": {"total_market": 1, "initial_adopters": 1},
            "step": {"adoption_rate": 1},
        }
    },
)
def potential_adopters():
    """
    Firms that have not yet adopted the technology.
    """
    return _integ_potential_adopters()


_integ_potential_adopters = Integ(
    lambda: -adoption_rate(),
    lambda: total_market() - initial_adopters(),
    "_integ_potential_adopters",
)


@component.add(
    name="Adopters",
    units="firms",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_adopters": 1},
    other_deps={
        "_integ_adopters": {
            "initial": {"initial_adopters": 1},
            "step": {"adoption_rate": 1, "discard_rate": 1},
        }
    },
)
def adopters():
    """
    Firms using the technology.
    """
    return _integ_adopters()


_integ_adopters = Integ(
    lambda: adoption_rate() - discard_rate(),
    lambda: initial_adopters(),
    "_integ_adopters",
)


@component.add(
    name="Knowledge",
    units="knowledge units",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_knowledge": 1},
    other_deps={
        "_integ_knowledge": {
            "initial": {},
            "step": {
                "rd_spending": 1,
                "research_productivity": 1,
                "obsolescence_rate": 1,
                "knowledge": 1,
            },
        }
    },
)
def knowledge():
    """
    R&D knowledge stock (perpetual inventory).
    """
    return _integ_knowledge()


_integ_knowledge = Integ(
    lambda: rd_spending() * research_productivity() - knowledge() * obsolescence_rate(),
    lambda: 100,
    "_integ_knowledge",
)


@component.add(
    name="Capacity",
    units="units/Year",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_capacity": 1},
    other_deps={
        "_integ_capacity": {
            "initial": {},
            "step": {"capacity_investment": 1, "capacity": 1, "depreciation_rate": 1},
        }
    },
)
def capacity():
    """
    Production capacity.
    """
    return _integ_capacity()


_integ_capacity = Integ(
    lambda: capacity_investment() - capacity() * depreciation_rate(),
    lambda: 500,
    "_integ_capacity",
)


@component.add(
    name="Inventory",
    units="units",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_inventory": 1},
    other_deps={
        "_integ_inventory": {"initial": {}, "step": {"production": 1, "shipments": 1}}
    },
)
def inventory():
    """
    Finished goods inventory.
    """
    return _integ_inventory()


_integ_inventory = Integ(
    lambda: production() - shipments(), lambda: 200, "_integ_inventory"
)


@component.add(
    name="Backlog",
    units="units",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_backlog": 1},
    other_deps={
        "_integ_backlog": {"initial": {}, "step": {"orders": 1, "shipments": 1}}
    },
)
def backlog():
    """
    Unfilled orders.
    """
    return _integ_backlog()


_integ_backlog = Integ(lambda: orders() - shipments(), lambda: 100, "_integ_backlog")


@component.add(
    name="Cash",
    units="yuan",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_cash": 1},
    other_deps={
        "_integ_cash": {
            "initial": {},
            "step": {
                "revenue": 1,
                "rd_spending": 1,
                "capacity_investment": 1,
                "operating_cost": 1,
            },
        }
    },
)
def cash():
    """
    Cash holdings.
    """
    return _integ_cash()


_integ_cash = Integ(
    lambda: revenue() - rd_spending() - capacity_investment() - operating_cost(),
    lambda: 1000,
    "_integ_cash",
)


@component.add(
    name="Workforce",
    units="people",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_workforce": 1},
    other_deps={"_integ_workforce": {"initial": {}, "step": {"hiring": 1}}},
)
def workforce():
    """
    R&D workforce.
    """
    return _integ_workforce()


_integ_workforce = Integ(lambda: hiring(), lambda: 50, "_integ_workforce")


@component.add(
    name="Price",
    units="yuan/unit",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_price": 1},
    other_deps={"_integ_price": {"initial": {}, "step": {"price_change": 1}}},
)
def price():
    """
    Product price.
    """
    return _integ_price()


_integ_price = Integ(lambda: price_change(), lambda: 10, "_integ_price")


@component.add(
    name="Reputation",
    units="Dmnl",
    comp_type="Stateful",
    comp_subtype="Integ",
    depends_on={"_integ_reputation": 1},
    other_deps={
        "_integ_reputation": {
            "initial": {},
            "step": {
                "indicated_reputation": 1,
                "reputation": 1,
                "reputation_adjustment_time": 1,
            },
        }
    },
)
def reputation():
    """
    Brand reputation.
    """
    return _integ_reputation()


_integ_reputation = Integ(
    lambda: (indicated_reputation() - reputation()) / reputation_adjustment_time(),
    lambda: 0.5,
    "_integ_reputation",
)


@component.add(
    name="Total Market",
    units="firms",
    limits=(1000.0, 50000.0, 100.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def total_market():
    """
    Total number of firms.
    """
    return 10000


@component.add(
    name="Initial Adopters",
    units="firms",
    limits=(1.0, 100.0, 1.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def initial_adopters():
    """
    Initial adopters.
    """
    return 10


@component.add(
    name="Advertising Effectiveness",
    units="1/Year",
    limits=(0.0, 0.1, 0.001),
    comp_type="Constant",
    comp_subtype="Normal",
)
def advertising_effectiveness():
    """
    Adoption from advertising.
    """
    return 0.011


@component.add(
    name="Contact Rate",
    units="1/Year",
    limits=(10.0, 200.0, 1.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def contact_rate():
    """
    Contacts per adopter.
    """
    return 100


@component.add(
    name="Adoption Fraction",
    units="Dmnl",
    limits=(0.0, 0.05, 0.001),
    comp_type="Constant",
    comp_subtype="Normal",
)
def adoption_fraction():
    """
    Adoptions per contact.
    """
    return 0.015


@component.add(
    name="Adoption Rate",
    units="firms/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "potential_adopters": 1,
        "total_market": 1,
        "advertising_effectiveness": 1,
        "adoption_fraction": 1,
        "contact_rate": 1,
        "adopters": 1,
        "reputation": 1,
        "reputation_effect": 1,
    },
)
def adoption_rate():
    """
    Bass diffusion with a reputation multiplier.
    """
    return (
        potential_adopters()
        * (
            advertising_effectiveness()
            + contact_rate() * adoption_fraction() * adopters() / total_market()
        )
        * reputation_effect(reputation())
    )


@component.add(
    name="Reputation Effect",
    units="Dmnl",
    comp_type="Lookup",
    comp_subtype="Normal",
    depends_on={"__lookup__": "_hardcodedlookup_reputation_effect"},
)
def reputation_effect(x, final_subs=None):
    """
    Effect of reputation on adoption.
    """
    return _hardcodedlookup_reputation_effect(x, final_subs)


_hardcodedlookup_reputation_effect = HardcodedLookups(
    [0.0, 0.25, 0.5, 0.75, 1.0],
    [0.2, 0.6, 1.0, 1.3, 1.5],
    {},
    "interpolate",
    {},
    "_hardcodedlookup_reputation_effect",
)


@component.add(
    name="Discard Rate",
    units="firms/Year",
    comp_type="Stateful",
    comp_subtype="Delay",
    depends_on={"_delay_discard_rate": 1},
    other_deps={
        "_delay_discard_rate": {
            "initial": {"adoption_rate": 1, "product_life": 1},
            "step": {"adoption_rate": 1, "product_life": 1},
        }
    },
)
def discard_rate():
    """
    Adopters who abandon the technology after a product life.
    """
    return _delay_discard_rate() * 0.2


_delay_discard_rate = Delay(
    lambda: adoption_rate(),
    lambda: product_life(),
    lambda: adoption_rate(),
    lambda: 3,
    time_step,
    "_delay_discard_rate",
)


@component.add(
    name="Product Life",
    units="Year",
    limits=(2.0, 20.0, 1.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def product_life():
    """
    Average product life.
    """
    return 8


@component.add(
    name="Orders",
    units="units/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "adopters": 1,
        "order_rate_per_adopter": 1,
        "reference_price": 1,
        "price_effect": 1,
        "price": 1,
        "time": 1,
        "order_shock": 1,
    },
)
def orders():
    """
    Orders from adopters, with an order shock.
    """
    return adopters() * order_rate_per_adopter() * price_effect(
        price() / reference_price()
    ) + step(__data["time"], order_shock(), 10)


@component.add(
    name="Order Shock",
    units="units/Year",
    limits=(0.0, 1000.0, 10.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def order_shock():
    """
    Size of the order shock.
    """
    return 200


@component.add(
    name="Order Rate per Adopter",
    units="units/firm/Year",
    limits=(0.0, 2.0, 0.05),
    comp_type="Constant",
    comp_subtype="Normal",
)
def order_rate_per_adopter():
    """
    Orders per adopter.
    """
    return 0.5


@component.add(
    name="Reference Price",
    units="yuan/unit",
    limits=(5.0, 20.0, 0.5),
    comp_type="Constant",
    comp_subtype="Normal",
)
def reference_price():
    """
    Reference price.
    """
    return 10


@component.add(
    name="Price Effect",
    units="Dmnl",
    comp_type="Lookup",
    comp_subtype="Normal",
    depends_on={"__lookup__": "_hardcodedlookup_price_effect"},
)
def price_effect(x, final_subs=None):
    """
    Demand response to relative price.
    """
    return _hardcodedlookup_price_effect(x, final_subs)


_hardcodedlookup_price_effect = HardcodedLookups(
    [0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
    [1.8, 1.4, 1.0, 0.7, 0.5, 0.3],
    {},
    "interpolate",
    {},
    "_hardcodedlookup_price_effect",
)


@component.add(
    name="Desired Shipments",
    units="units/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"backlog": 1, "target_delivery_delay": 1},
)
def desired_shipments():
    """
    Shipments that would clear the backlog.
    """
    return backlog() / target_delivery_delay()


@component.add(
    name="Target Delivery Delay",
    units="Year",
    limits=(0.1, 2.0, 0.1),
    comp_type="Constant",
    comp_subtype="Normal",
)
def target_delivery_delay():
    """
    Target delivery delay.
    """
    return 0.5


@component.add(
    name="Shipments",
    units="units/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"desired_shipments": 1, "minimum_shipment_time": 1, "inventory": 1},
)
def shipments():
    """
    Shipments.
    """
    return float(np.minimum(desired_shipments(), inventory() / minimum_shipment_time()))


@component.add(
    name="Minimum Shipment Time",
    units="Year",
    limits=(0.1, 1.0, 0.05),
    comp_type="Constant",
    comp_subtype="Normal",
)
def minimum_shipment_time():
    """
    Minimum shipment time.
    """
    return 0.25


@component.add(
    name="Production",
    units="units/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"capacity": 1, "productivity_multiplier": 1, "desired_production": 1},
)
def production():
    """
    Production.
    """
    return float(
        np.minimum(capacity() * productivity_multiplier(), desired_production())
    )


@component.add(
    name="Desired Production",
    units="units/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "expected_orders": 1,
        "desired_inventory": 1,
        "inventory": 1,
        "inventory_adjustment_time": 1,
    },
)
def desired_production():
    """
    Desired production.
    """
    return float(
        np.maximum(
            0,
            expected_orders()
            + (desired_inventory() - inventory()) / inventory_adjustment_time(),
        )
    )


@component.add(
    name="Expected Orders",
    units="units/Year",
    comp_type="Stateful",
    comp_subtype="Smooth",
    depends_on={"_smooth_expected_orders": 1},
    other_deps={
        "_smooth_expected_orders": {
            "initial": {"orders": 1},
            "step": {"orders": 1, "forecast_time": 1},
        }
    },
)
def expected_orders():
    """
    Demand forecast.
    """
    return _smooth_expected_orders()


_smooth_expected_orders = Smooth(
    lambda: orders(),
    lambda: forecast_time(),
    lambda: orders(),
    lambda: 1,
    "_smooth_expected_orders",
)


@component.add(
    name="Forecast Time",
    units="Year",
    limits=(0.25, 4.0, 0.25),
    comp_type="Constant",
    comp_subtype="Normal",
)
def forecast_time():
    """
    Forecast averaging time.
    """
    return 1


@component.add(
    name="Desired Inventory",
    units="units",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"expected_orders": 1, "inventory_coverage": 1},
)
def desired_inventory():
    """
    Desired inventory.
    """
    return expected_orders() * inventory_coverage()


@component.add(
    name="Inventory Coverage",
    units="Year",
    limits=(0.1, 2.0, 0.1),
    comp_type="Constant",
    comp_subtype="Normal",
)
def inventory_coverage():
    """
    Inventory coverage.
    """
    return 0.5


@component.add(
    name="Inventory Adjustment Time",
    units="Year",
    limits=(0.25, 4.0, 0.25),
    comp_type="Constant",
    comp_subtype="Normal",
)
def inventory_adjustment_time():
    """
    Inventory adjustment time.
    """
    return 1


@component.add(
    name="Productivity Multiplier",
    units="Dmnl",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"knowledge": 1, "knowledge_reference": 1},
)
def productivity_multiplier():
    """
    Knowledge raises productivity.
    """
    return 1 + knowledge() / knowledge_reference() * 0.1


@component.add(
    name="Knowledge Reference",
    units="knowledge units",
    limits=(100.0, 5000.0, 100.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def knowledge_reference():
    """
    Reference knowledge.
    """
    return 1000


@component.add(
    name="Capacity Investment",
    units="units/Year/Year",
    comp_type="Stateful",
    comp_subtype="Smooth",
    depends_on={
        "_smooth_capacity_investment": 1,
        "capacity": 2,
        "investment_cost_fraction": 1,
        "depreciation_rate": 1,
    },
    other_deps={
        "_smooth_capacity_investment": {
            "initial": {"desired_production": 1},
            "step": {"desired_production": 1, "capacity_lead_time": 1},
        }
    },
)
def capacity_investment():
    """
    Capacity investment (in capacity units for simplicity).
    """
    return (
        float(np.maximum(0, _smooth_capacity_investment() - capacity()))
        * investment_cost_fraction()
        + capacity() * depreciation_rate()
    )


_smooth_capacity_investment = Smooth(
    lambda: desired_production(),
    lambda: capacity_lead_time(),
    lambda: desired_production(),
    lambda: 3,
    "_smooth_capacity_investment",
)


@component.add(
    name="Capacity Lead Time",
    units="Year",
    limits=(1.0, 6.0, 0.5),
    comp_type="Constant",
    comp_subtype="Normal",
)
def capacity_lead_time():
    """
    Capacity acquisition delay.
    """
    return 3


@component.add(
    name="Investment Cost Fraction",
    units="1/Year",
    limits=(0.1, 1.0, 0.05),
    comp_type="Constant",
    comp_subtype="Normal",
)
def investment_cost_fraction():
    """
    Investment response.
    """
    return 0.3


@component.add(
    name="Depreciation Rate",
    units="1/Year",
    limits=(0.02, 0.2, 0.01),
    comp_type="Constant",
    comp_subtype="Normal",
)
def depreciation_rate():
    """
    Capacity depreciation.
    """
    return 0.08


@component.add(
    name="Revenue",
    units="yuan/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"shipments": 1, "price": 1},
)
def revenue():
    """
    Revenue.
    """
    return shipments() * price()


@component.add(
    name="RD Spending",
    units="yuan/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"revenue": 1, "rd_share": 1, "time": 1, "rd_ramp_slope": 1},
)
def rd_spending():
    """
    R&D spending with a policy ramp.
    """
    return revenue() * rd_share() + ramp(__data["time"], rd_ramp_slope(), 5, 15)


@component.add(
    name="RD Share",
    units="Dmnl",
    limits=(0.0, 0.2, 0.01),
    comp_type="Constant",
    comp_subtype="Normal",
)
def rd_share():
    """
    R&D share of revenue.
    """
    return 0.05


@component.add(
    name="RD Ramp Slope",
    units="yuan/Year/Year",
    limits=(0.0, 50.0, 1.0),
    comp_type="Constant",
    comp_subtype="Normal",
)
def rd_ramp_slope():
    """
    Slope of the R&D subsidy ramp.
    """
    return 5


@component.add(
    name="Research Productivity",
    units="knowledge units/yuan",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"workforce": 1},
)
def research_productivity():
    """
    Research productivity.
    """
    return 0.02 * workforce() / 50


@component.add(
    name="Obsolescence Rate",
    units="1/Year",
    limits=(0.05, 0.3, 0.01),
    comp_type="Constant",
    comp_subtype="Normal",
)
def obsolescence_rate():
    """
    Knowledge obsolescence (Li & Hall 2020).
    """
    return 0.15


@component.add(
    name="Operating Cost",
    units="yuan/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"production": 1, "unit_cost": 1},
)
def operating_cost():
    """
    Operating cost.
    """
    return production() * unit_cost()


@component.add(
    name="Unit Cost",
    units="yuan/unit",
    limits=(2.0, 10.0, 0.5),
    comp_type="Constant",
    comp_subtype="Normal",
)
def unit_cost():
    """
    Unit cost.
    """
    return 6


@component.add(
    name="Hiring",
    units="people/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"desired_workforce": 1, "workforce": 1, "hiring_delay": 1},
)
def hiring():
    """
    Hiring.
    """
    return (desired_workforce() - workforce()) / hiring_delay()


@component.add(
    name="Desired Workforce",
    units="people",
    comp_type="Stateful",
    comp_subtype="Delay",
    depends_on={"_delay_desired_workforce": 1},
    other_deps={
        "_delay_desired_workforce": {
            "initial": {"rd_spending": 1, "salary": 1, "budget_delay": 1},
            "step": {"rd_spending": 1, "salary": 1, "budget_delay": 1},
        }
    },
)
def desired_workforce():
    """
    Desired R&D workforce.
    """
    return _delay_desired_workforce()


_delay_desired_workforce = Delay(
    lambda: rd_spending() / salary(),
    lambda: budget_delay(),
    lambda: rd_spending() / salary(),
    lambda: 1,
    time_step,
    "_delay_desired_workforce",
)


@component.add(
    name="Salary",
    units="yuan/person/Year",
    limits=(1.0, 5.0, 0.1),
    comp_type="Constant",
    comp_subtype="Normal",
)
def salary():
    """
    Salary.
    """
    return 2


@component.add(
    name="Budget Delay",
    units="Year",
    limits=(0.5, 3.0, 0.5),
    comp_type="Constant",
    comp_subtype="Normal",
)
def budget_delay():
    """
    Budget delay.
    """
    return 1


@component.add(
    name="Hiring Delay",
    units="Year",
    limits=(0.25, 2.0, 0.25),
    comp_type="Constant",
    comp_subtype="Normal",
)
def hiring_delay():
    """
    Hiring delay.
    """
    return 0.75


@component.add(
    name="Price Change",
    units="yuan/unit/Year",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={
        "price": 2,
        "backlog": 1,
        "desired_shipments": 1,
        "target_delivery_delay": 1,
        "price_sensitivity": 1,
        "productivity_multiplier": 1,
        "learning_rate": 1,
    },
)
def price_change():
    """
    Price responds to delivery pressure and falls with learning.
    """
    return (
        price()
        * (backlog() / desired_shipments() / target_delivery_delay() - 1)
        * price_sensitivity()
        - price() * learning_rate() * productivity_multiplier()
    )


@component.add(
    name="Price Sensitivity",
    units="1/Year",
    limits=(0.0, 0.5, 0.01),
    comp_type="Constant",
    comp_subtype="Normal",
)
def price_sensitivity():
    """
    Price sensitivity.
    """
    return 0.1


@component.add(
    name="Learning Rate",
    units="1/Year",
    limits=(0.0, 0.05, 0.005),
    comp_type="Constant",
    comp_subtype="Normal",
)
def learning_rate():
    """
    Learning-curve price decline.
    """
    return 0.01


@component.add(
    name="Indicated Reputation",
    units="Dmnl",
    comp_type="Auxiliary",
    comp_subtype="Normal",
    depends_on={"shipments": 1, "orders": 1},
)
def indicated_reputation():
    """
    Share of orders served.
    """
    return shipments() / float(np.maximum(orders(), 1))


@component.add(
    name="Reputation Adjustment Time",
    units="Year",
    limits=(0.5, 5.0, 0.5),
    comp_type="Constant",
    comp_subtype="Normal",
)
def reputation_adjustment_time():
    """
    Reputation adjustment time.
    """
    return 2
