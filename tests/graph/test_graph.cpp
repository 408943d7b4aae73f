#include <gtest/gtest.h>

#include "graph/graph.h"

namespace edgekit {

namespace {
Graph chain() {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, 4}, {"N", ""}});
  g.add_node("Relu", {"x"}, {"a"}, "first");
  g.add_node("Relu", {"a"}, {"b"}, "second");
  g.outputs.push_back({"b", DType::f32, {-1, 4}, {"N", ""}});
  return g;
}
}  // namespace

TEST(Graph, VerifiesAWellFormedChain) { EXPECT_NO_THROW(verify(chain())); }

TEST(Graph, TopoSortRestoresOrder) {
  Graph g = chain();
  std::swap(g.nodes[0], g.nodes[1]);
  EXPECT_THROW(verify(g), Error);
  g.topo_sort();
  EXPECT_EQ(g.nodes[0].name, "first");
  EXPECT_NO_THROW(verify(g));
}

TEST(Graph, CycleIsReportedWithTheNode) {
  Graph g = chain();
  g.nodes[0].inputs[0] = "b";
  try {
    g.topo_sort();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
  }
}

TEST(Graph, UndefinedInputNamesNodeAndValue) {
  Graph g = chain();
  g.nodes[1].inputs[0] = "nowhere";
  try {
    verify(g);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'second'"), std::string::npos) << m;
    EXPECT_NE(m.find("'nowhere'"), std::string::npos) << m;
  }
}

TEST(Graph, DuplicateDefinitionAndMissingOutput) {
  Graph g = chain();
  g.nodes[1].outputs[0] = "a";
  EXPECT_THROW(verify(g), Error);
  Graph h = chain();
  h.outputs[0].name = "zzz";
  EXPECT_THROW(verify(h), Error);
}

TEST(Node, TypedAttributesWithErrors) {
  Node n;
  n.name = "c";
  n.op_type = "Conv";
  n.attrs["group"] = int64_t(2);
  n.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n.attrs["alpha"] = 0.5f;
  EXPECT_EQ(n.attr_int("group"), 2);
  EXPECT_EQ(n.attr_int("missing", 7), 7);
  EXPECT_EQ(n.attr_ints("pads").size(), 4u);
  EXPECT_FLOAT_EQ(n.attr_float("alpha"), 0.5f);
  EXPECT_THROW(n.attr_int("pads"), Error);  // wrong type
  EXPECT_THROW(n.attr_int("strides"), Error);  // missing and required
  try {
    n.attr_string("group");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'c' (Conv)"), std::string::npos) << e.what();
  }
}

TEST(ValueInfo, ShapeStringUsesSymbols) {
  ValueInfo v{"x", DType::f32, {-1, 3, -1}, {"N", "", ""}};
  EXPECT_EQ(v.shape_string(), "[N,3,?]");
}

}  // namespace edgekit
